/**
 * The git-push PaaS host as a real process: alone, serving whatever revision its link points at and
 * loading the next on SIGHUP; then beside a real git-pull publishing a real repository, where a push is
 * served after git-pull's SIGHUP and a revision whose handler throws on load is refused while the
 * previous handler keeps serving.
 */

import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import t from 'tap';
import { makeRemote } from '../../../test/support/git.js';
import { httpRequest } from '../../../test/support/http.js';
import {
  distDir,
  type LogLine,
  spawnNode,
  startComponent,
  type Teardown,
} from '../../../test/support/process.js';

const hostScript = join(distDir, 'examples', 'git-paas', 'src', 'host.js');

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-git-paas-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An app.mjs whose handler answers `text`. */
const handler = (text: string) => `export default (req, res) => res.end(${JSON.stringify(text)});\n`;

async function startHost(t: Teardown, args: string[]) {
  const host = spawnNode(t, hostScript, ['--port', '0', ...args]);
  const { port } = await host.waitForLog('listening', 30_000);
  const base = `http://127.0.0.1:${port}`;
  return {
    host,
    base,
    page: async (path = '/') => httpRequest(`${base}${path}`),
    revision: async () => JSON.parse((await httpRequest(`${base}/__revision`)).body).revision as unknown,
  };
}

/** Points `link` at `target` the way git-pull does: a new link renamed over the old one. */
function swapLink(link: string, target: string): void {
  symlinkSync(target, `${link}.new`);
  renameSync(`${link}.new`, link);
}

const loaded = (revision: string) => (line: LogLine) => line.msg === 'loaded' && line.revision === revision;

t.test(
  'alone: serves the revision its link points at, loads the next on SIGHUP, exits 0 on SIGTERM',
  async (t) => {
    const dir = tempDir(t);
    for (const [revision, body] of [
      ['r1', handler('first revision\n')],
      ['r2', handler('second revision\n')],
      ['r3', 'export default () => { throw new Error("no answer for you"); };\n'],
    ] as const) {
      mkdirSync(join(dir, revision));
      writeFileSync(join(dir, revision, 'app.mjs'), body);
    }
    const link = join(dir, 'current');
    const pidFile = join(dir, 'host.pid');
    const { host, page, revision } = await startHost(t, ['--tree', link, '--pid-file', pidFile]);
    t.equal(readFileSync(pidFile, 'utf8'), `${host.pid}\n`, '--pid-file holds its pid, for a sidecar');

    // Nothing published yet: it starts anyway, says why it has no handler, and answers 503.
    t.match(await host.waitForLog('refused a revision'), { reason: 'start', serving: null });
    const empty = await page();
    t.equal(empty.status, 503);
    t.equal(empty.body, 'no revision published yet\n');
    t.equal((await page('/healthz')).body, 'ok\n', '/healthz answers for the host itself');

    swapLink(link, join(dir, 'r1'));
    host.signal('SIGHUP');
    await host.waitForLog(loaded('r1'));
    t.equal((await page()).body, 'first revision\n');
    t.equal(await revision(), 'r1', '/__revision names the directory the link resolved to');

    swapLink(link, join(dir, 'r2'));
    host.signal('SIGHUP');
    await host.waitForLog(loaded('r2'));
    t.equal((await page()).body, 'second revision\n');

    // A handler that throws while answering: that request gets a 500, the host keeps serving.
    swapLink(link, join(dir, 'r3'));
    host.signal('SIGHUP');
    await host.waitForLog(loaded('r3'));
    const failed = await page();
    t.equal(failed.status, 500);
    t.equal(failed.body, 'Error: no answer for you\n');
    t.equal((await page('/healthz')).status, 200);

    t.same(await host.stop(), { code: 0, signal: null }, 'SIGTERM: exit 0');
  },
);

t.test('without --tree it exits 2 and says what is missing', async (t) => {
  const run = spawnNode(t, hostScript, []);
  t.same(await run.exited, { code: 2, signal: null });
  t.same(run.text, ['git-paas host: --tree <path of the link git-pull publishes> is required']);
});

t.test(
  'with git-pull: a push is served after its SIGHUP; a revision that throws on load is refused',
  async (t) => {
    const remote = await makeRemote(t, { 'app.mjs': handler('Hello from the first push\n') }, 'site');
    const root = join(tempDir(t), 'volume');
    // git-pull finds the host by this name, as in a pod with a shared process namespace.
    const title = `podkit-paas-test-${process.pid}`;
    const { host, page, revision } = await startHost(t, ['--tree', join(root, 'site'), '--title', title]);
    const gitPull = await startComponent(
      t,
      'git-pull',
      [
        '--repo',
        remote.fileUrl,
        '--root',
        root,
        '--link',
        'site',
        '--period',
        '1h',
        '--sync-min-interval',
        '0s',
        '--sync-open',
        '--signal',
        'SIGHUP',
        '--process-name',
        title,
      ],
      { timeoutMs: 60_000 },
    );
    const sync = async (hash: string) => {
      const answer = await httpRequest(`${gitPull.adminUrl}/sync`, { method: 'POST' });
      t.match(JSON.parse(answer.body), { result: 'success', hash }, `git-pull published ${hash.slice(0, 7)}`);
    };

    await host.waitForLog(loaded(remote.first), 60_000);
    t.equal((await page()).body, 'Hello from the first push\n', 'the first revision, after the first sync');

    const second = await remote.commit({ 'app.mjs': handler('Hello from the second push\n') });
    await remote.push();
    await sync(second);
    await host.waitForLog(loaded(second), 30_000);
    t.equal((await page()).body, 'Hello from the second push\n');
    t.equal(await revision(), second);

    const throwing = await remote.commit({
      'app.mjs': `throw new Error('DATABASE_URL is not set');\n${handler('never served\n')}`,
    });
    await remote.push();
    await sync(throwing);
    t.equal(basename(readlinkSync(join(root, 'site'))), throwing, 'the link points at the new revision');
    const refusal = await host.waitForLog(
      (line) => line.msg === 'refused a revision' && line.reason === 'SIGHUP',
      30_000,
    );
    t.match(refusal, { error: 'Error: DATABASE_URL is not set', serving: second }, 'the refusal is logged');
    t.equal((await page()).body, 'Hello from the second push\n', 'the previous handler keeps serving');
    t.equal(await revision(), second);

    const fixed = await remote.commit({ 'app.mjs': handler('Hello from the fix\n') });
    await remote.push();
    await sync(fixed);
    await host.waitForLog(loaded(fixed), 30_000);
    t.equal((await page()).body, 'Hello from the fix\n', 'the next good push is served');

    t.same(await host.stop(), { code: 0, signal: null }, 'SIGTERM: exit 0');
  },
);
