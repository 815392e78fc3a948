import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { components } from '../components.js';
import { repoRoot, runPodkit } from './support/process.js';

const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
const names = Object.keys(components).sort();

t.test('podkit --version', async (t) => {
  t.same(await runPodkit(['--version']), { code: 0, stdout: `${version}\n`, stderr: '' });
});

t.test('podkit --help lists exactly the components in this build', async (t) => {
  const { code, stdout } = await runPodkit(['--help']);
  t.equal(code, 0);
  t.match(stdout, /^Usage: podkit <component> \[options\]/m);
  const listed = stdout
    .split('Components:\n')[1]
    ?.split('\n')
    .filter((line) => /^ {2}\S/.test(line) && !line.includes('(none in this build)'))
    .map((line) => line.trim().split(/\s+/)[0]);
  t.same(listed, names);
});

t.test('no component: usage on stdout, exit 2', async (t) => {
  const { code, stdout } = await runPodkit([]);
  t.equal(code, 2);
  t.match(stdout, /Usage: podkit <component>/);
});

t.test('unknown component: exit 2 naming the known ones', async (t) => {
  const { code, stdout, stderr } = await runPodkit(['tls-proxyy']);
  t.equal(code, 2);
  t.equal(stdout, '');
  t.equal(
    stderr,
    `podkit: unknown component "tls-proxyy" (components: ${names.join(', ') || 'none in this build'})\n`,
  );
});

t.test('every component: --help and --version through the CLI', async (t) => {
  for (const name of names) {
    const help = await runPodkit([name, '--help']);
    t.equal(help.code, 0, `${name} --help`);
    t.match(help.stdout, new RegExp(`^podkit ${name}: `));
    t.match(help.stdout, /--admin-address <host:port>/);
    t.same(await runPodkit([name, '--version']), {
      code: 0,
      stdout: `podkit ${name} ${version}\n`,
      stderr: '',
    });
  }
  t.pass(`${names.length} components checked`);
});
