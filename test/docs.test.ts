import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
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

/** The sections every component README has, in this order (CONTRIBUTING.md, "The README"). */
const readmeSections = ['In a pod', 'Behaviour', 'Security defaults', 'Parameters', 'Metrics', 'Performance'];

t.test('each component README follows the one template', async (t) => {
  const performance = readFileSync(join(repoRoot, 'docs', 'performance.md'), 'utf8');
  for (const [name, entry] of Object.entries(components)) {
    const readme = readFileSync(join(repoRoot, entry.dir, 'README.md'), 'utf8');
    const lines = readme.split('\n');
    t.equal(lines[0], `# ${entry.dir}`, `${entry.dir}: the title is the component's folder`);
    const sections = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    t.same(sections, readmeSections, `${entry.dir}: its sections are the template's, in order`);
    const purpose = readme.slice(readme.indexOf('\n'), readme.indexOf('\n## ')).trim().split('\n');
    t.ok(purpose.length <= 3, `${entry.dir}: what it is for fits in 3 lines (${purpose.length})`);
    const pod = readme.slice(readme.indexOf('## In a pod\n') + '## In a pod\n'.length).trimStart();
    t.ok(pod.startsWith('```yaml\n'), `${entry.dir}: a pod example right after "In a pod"`);
    // The chart values for its container (test/charts/readme-values.test.ts renders them with helm).
    const inPod = pod.slice(0, pod.indexOf('\n## '));
    t.match(
      inPod,
      /\n### Chart values\n[^#]*?```yaml\n\w+:\n {2}enabled: true\n/,
      `${entry.dir}: "In a pod" has a "Chart values" block`,
    );
    const performanceSection = readme.slice(readme.indexOf('## Performance\n'));
    t.match(
      performanceSection,
      `(../../docs/performance.md#${name})`,
      `${entry.dir}: Performance links its section of docs/performance.md`,
    );
    t.match(performance, new RegExp(`^## ${name}$`, 'm'), `docs/performance.md has a section ${name}`);
  }
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((item) => {
    if (['node_modules', 'dist', '.git', '.tap'].includes(item.name)) return [];
    const path = join(dir, item.name);
    if (item.isDirectory()) return markdownFiles(path);
    return item.name.endsWith('.md') ? [path] : [];
  });
}

t.test('Markdown links stay inside the repository and lead somewhere', async (t) => {
  const files = markdownFiles(repoRoot);
  t.ok(files.length >= 10, `${files.length} Markdown files`);
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
    for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?|mailto):/.test(target)) continue;
      const where = `${relative(repoRoot, file)}: ${target}`;
      const [path = '', anchor] = target.split('#');
      const resolved = path ? resolve(dirname(file), path) : file;
      if (relative(repoRoot, resolved).startsWith('..') || isAbsolute(path)) {
        t.fail(`${where} leaves the repository`);
        continue;
      }
      t.ok(existsSync(resolved), `${where} exists`);
      if (anchor && resolved.endsWith('.md') && existsSync(resolved)) {
        const headings = [...readFileSync(resolved, 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) =>
          anchorOf(m[1] ?? ''),
        );
        t.ok(headings.includes(anchor), `${where}: the heading exists`);
      }
    }
  }
});
