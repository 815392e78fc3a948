/**
 * The git-push PaaS, as `npm run demo` wires it: a Node app whose handler lives in the repository,
 * served from the synced tree and reloaded by git-pull's SIGHUP after each push. A push that breaks the
 * handler is refused by the app, which keeps serving the previous revision.
 */

import { join } from 'node:path';
import t from 'tap';
import { makeRemote } from '../../../test/support/git.js';
import { httpRequest } from '../../../test/support/http.js';
import { freePort } from '../../../test/support/ports.js';
import { distDir, spawnNode } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { startGitPull, tempDir } from './helpers.js';

const handler = (text: string) => `export default (req, res) => res.end(${JSON.stringify(text)});\n`;

t.test(
  'push -> POST /sync -> the app serves the new code, reloaded by SIGHUP; a broken push is refused',
  async (t) => {
    const remote = await makeRemote(t, { 'app.mjs': handler('Hello from the first push\n') });
    const root = join(tempDir(t), 'volume');
    const title = `podkit-paas-${process.pid}`;
    const port = await freePort();
    const host = spawnNode(t, join(distDir, 'examples', 'git-paas', 'src', 'host.js'), [
      '--tree',
      join(root, 'site'),
      '--port',
      String(port),
      '--title',
      title,
    ]);
    await host.waitForLog('listening', 30_000);
    const page = async () => (await httpRequest(`http://127.0.0.1:${port}/`)).body;
    t.equal(await page(), 'no revision published yet\n', 'the app waits for its first revision');

    const sidecar = await startGitPull(
      t,
      ['--repo', remote.fileUrl, '--period', '1h', '--signal', 'SIGHUP', '--process-name', title],
      { root, link: 'site' },
    );
    await waitFor(async () => (await page()) === 'Hello from the first push\n', {
      timeoutMs: 30_000,
      what: 'the first revision served',
    });

    const second = await remote.commit({ 'app.mjs': handler('Hello from the second push\n') });
    await remote.push();
    const sync = await httpRequest(`${sidecar.adminUrl}/sync`, { method: 'POST' });
    t.match(JSON.parse(sync.body), { result: 'success', hash: second });
    await waitFor(async () => (await page()) === 'Hello from the second push\n', {
      timeoutMs: 30_000,
      what: 'the push served',
    });
    t.same(JSON.parse((await httpRequest(`http://127.0.0.1:${port}/__revision`)).body), { revision: second });

    await new Promise((resolve) => setTimeout(resolve, 1100)); // POST /sync allows one per second
    const broken = await remote.commit({ 'app.mjs': 'export default (req, res) => {\n' });
    await remote.push();
    t.equal((await httpRequest(`${sidecar.adminUrl}/sync`, { method: 'POST' })).status, 200);
    t.equal(sidecar.live(), broken, 'git-pull published it');
    await host.waitForLog((line) => line.msg === 'refused a revision' && line.reason === 'SIGHUP', 30_000);
    t.equal(
      await page(),
      'Hello from the second push\n',
      'the app keeps serving the last revision that loaded',
    );
  },
);
