import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { components, imageEntrypoint } from '../components.js';
import { expectedReadmes } from '../scripts/docs.js';
import { repoRoot } from '../scripts/repo-root.js';

t.test('README tables match components.ts and the option specs (run `npm run docs` to update)', async (t) => {
  const readmes = await expectedReadmes();
  t.equal(readmes.length, Object.keys(components).length + 1, 'the root README and one per component');
  for (const { path, text } of readmes) {
    t.equal(readFileSync(path, 'utf8'), text, `${path} is up to date`);
  }
  t.match(
    readmes[0]?.text,
    /\| `--shutdown-timeout` \| `PODKIT_<COMPONENT>_SHUTDOWN_TIMEOUT` or `PODKIT_SHUTDOWN_TIMEOUT` \| duration \| `10s` \|/,
  );
  t.match(
    readmes[0]?.text,
    /\| `--admin-address` \| `PODKIT_<COMPONENT>_ADMIN_ADDRESS` or `PODKIT_ADMIN_ADDRESS` \| host:port \| `0\.0\.0\.0:<component port>` \|/,
  );
  for (const [name, entry] of Object.entries(components)) {
    t.match(
      readmes[0]?.text,
      `\n| [${name}](${entry.dir}/README.md) | `,
      `the root README's components table has ${name}, linked to its README`,
    );
  }
  const readme = (dir: string) => readmes.find(({ path }) => path.includes(dir))?.text;
  t.match(
    readme('sidecars/tls-proxy'),
    /^\| `--listen` \| `PODKIT_TLS_PROXY_LISTEN` or `PODKIT_LISTEN` \| host:port \| `0\.0\.0\.0:8443` \|/m,
    'component tables show the scoped name first',
  );
  t.match(
    readme('sidecars/config-sync'),
    /^- `--reload-url` \(`PODKIT_CONFIG_SYNC_RELOAD_URL` or `PODKIT_RELOAD_URL`\): now `--webhook-url`$/m,
    'old spellings are listed below the table',
  );
});

t.test('the README opens with the two commands, and CI runs the test command', async (t) => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const opening = readme.split('\n').slice(0, 6).join('\n');
  t.match(opening, /^npm ci && npm run demo\b/m);
  t.match(opening, /^npm ci && npm test\b/m);
  t.match(readFileSync(join(repoRoot, '.ci', 'run'), 'utf8'), /^npm ci && npm test$/m);
});

t.test("each component's Dockerfile starts it with the node flags components.ts gives it", async (t) => {
  for (const [name, entry] of Object.entries(components)) {
    const dockerfile = readFileSync(join(repoRoot, entry.dir, 'Dockerfile'), 'utf8');
    const line = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    t.ok(line, `${entry.dir}/Dockerfile has an ENTRYPOINT in exec form`);
    t.same(JSON.parse(line ?? '[]'), imageEntrypoint(name), `${entry.dir}/Dockerfile ENTRYPOINT`);
  }
});

t.test('each entry of components.ts names a component folder and its own admin port', async (t) => {
  const ports = Object.values(components).map((entry) => entry.adminPort);
  t.equal(new Set(ports).size, ports.length, `admin ports are distinct (${ports.join(', ')})`);
  for (const [name, entry] of Object.entries(components)) {
    t.match(
      entry.dir,
      new RegExp(`^(sidecars|ambassadors|adapters)/${name}$`),
      `${name}: dir is <group>/${name}`,
    );
    for (const file of ['README.md', 'Dockerfile', 'src/component.ts', 'src/options.ts'])
      t.ok(existsSync(join(repoRoot, entry.dir, file)), `${entry.dir}/${file} exists`);
    t.ok(entry.summary.length <= 120 && !entry.summary.includes('\n'), `${name}: the summary is one line`);
  }
});
