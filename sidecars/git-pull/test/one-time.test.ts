/**
 * --one-time as an init container, and --max-failures: the exit codes and reasons an orchestrator sees.
 */

import { chownSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeRemote, startGitDaemon } from '../../../test/support/git.js';
import { spawnPodkit } from '../../../test/support/process.js';
import { tempDir } from './helpers.js';

function paths(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const terminationLog = join(dir, 'termination-log');
  writeFileSync(terminationLog, '');
  return { root: join(dir, 'root'), terminationLog };
}

const common = (root: string, terminationLog: string) => [
  '--root',
  root,
  '--link',
  'app',
  '--admin-address',
  '127.0.0.1:0',
  '--termination-log',
  terminationLog,
];

/** git-pull on `repo` with `options`, writing under the test's root and termination log. */
function gitPull(
  t: Parameters<typeof spawnPodkit>[0],
  repo: string,
  { root, terminationLog }: { root: string; terminationLog: string },
  ...options: string[]
) {
  return spawnPodkit(t, ['git-pull', ...options, '--repo', repo, ...common(root, terminationLog)]);
}

t.test('--one-time: exit 0 with the tree in place', async (t) => {
  const remote = await makeRemote(t, { 'index.html': '<h1>hello</h1>\n' });
  const { root, terminationLog } = paths(t);
  const run = gitPull(t, remote.fileUrl, { root, terminationLog }, '--one-time');
  t.equal((await run.exited).code, 0);
  t.equal(readFileSync(join(root, 'app', 'index.html'), 'utf8'), '<h1>hello</h1>\n');
  t.ok(run.logs.some((line) => line.msg === 'published' && line.hash === remote.first));
  t.match(String(run.logs.find((line) => line.msg === 'shutting down')?.reason), /one-time sync done/);
});

t.test('a local remote owned by another uid (a volume mounted into the pod) is fetched', async (t) => {
  // git refuses repositories of other users ("dubious ownership"), and runs a local remote's side
  // with its configuration variables cleared: git-pull must trust it all the same.
  const remote = await makeRemote(t, { 'index.html': 'mounted\n' });
  chownSync(remote.bare, 65532, 65532);
  for (const entry of readdirSync(remote.bare, { recursive: true, encoding: 'utf8' }))
    chownSync(join(remote.bare, entry), 65532, 65532);
  for (const url of [remote.fileUrl, remote.bare]) {
    const { root, terminationLog } = paths(t);
    const run = gitPull(t, url, { root, terminationLog }, '--one-time', '--max-failures', '0');
    t.equal((await run.exited).code, 0, `${url}: exit 0`);
    t.equal(readFileSync(join(root, 'app', 'index.html'), 'utf8'), 'mounted\n', `${url}: the tree is live`);
  }
});

t.test('--one-time: exit 1 with the reason when the ref does not exist', async (t) => {
  const remote = await makeRemote(t);
  const { root, terminationLog } = paths(t);
  const run = gitPull(
    t,
    remote.fileUrl,
    { root, terminationLog },
    '--one-time',
    '--max-failures',
    '0',
    '--ref',
    'release-9',
  );
  t.equal((await run.exited).code, 1);
  const reason = readFileSync(terminationLog, 'utf8');
  t.match(
    reason,
    /^1 consecutive sync failures \(--max-failures 0\); the last: PODKIT_ERR_GIT_REF: ref "release-9" does not exist on file:\/\//,
  );
  t.ok(run.logs.some((line) => line.level === 'error' && line.reason === reason.trim()));
});

t.test('--one-time retries an unreachable remote --max-failures times, then exits 1', async (t) => {
  const remote = await makeRemote(t);
  const daemon = await startGitDaemon(t, remote.dir);
  await daemon.stop();
  const { root, terminationLog } = paths(t);
  const run = gitPull(
    t,
    daemon.url('app.git'),
    { root, terminationLog },
    '--one-time',
    '--max-failures',
    '3',
    '--period',
    '50ms',
  );
  t.equal((await run.exited).code, 1);
  t.equal(run.logs.filter((line) => line.msg === 'sync failed; the last good revision stays live').length, 2);
  t.match(
    readFileSync(terminationLog, 'utf8'),
    /^3 consecutive sync failures \(--max-failures 3\); the last: PODKIT_ERR_GIT: git ls-remote failed: fatal: unable to connect to 127\.0\.0\.1:.*Connection refused/,
  );
});

t.test('long-running: --max-failures consecutive failures end the process with exit 1', async (t) => {
  const remote = await makeRemote(t);
  await remote.push('HEAD:refs/heads/live');
  const { root, terminationLog } = paths(t);
  const run = gitPull(
    t,
    remote.fileUrl,
    { root, terminationLog },
    '--max-failures',
    '2',
    '--period',
    '100ms',
    '--ref',
    'live',
  );
  await run.waitForLog('published', 30_000);
  await remote.push('--delete', 'refs/heads/live');
  t.equal((await run.exited).code, 1);
  t.match(
    readFileSync(terminationLog, 'utf8'),
    /^2 consecutive sync failures \(--max-failures 2\); the last: PODKIT_ERR_GIT_REF: ref "live" does not exist/,
  );
  t.equal(
    readFileSync(join(root, 'app', 'README.md'), 'utf8'),
    'first\n',
    'the tree stays for the restart to serve',
  );
});
