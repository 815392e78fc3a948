/**
 * After publish: a command in the new worktree, an HTTP call, a signal to the app. Each against a real
 * peer; failures are retried and counted, and never unpublish the revision.
 */

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { makeRemote } from '../../../test/support/git.js';
import { spawnPodkit } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { metricValue, promtoolCheck, startGitPull, tempDir } from './helpers.js';

t.test(
  'exechook: runs in the new worktree with the hash in its env; a failure is retried, counted, not unpublished',
  async (t) => {
    const remote = await makeRemote(t, { 'version.txt': 'one\n' });
    const out = join(tempDir(t), 'hook.log');
    // Fails on its first run, succeeds on its second: a retry must happen.
    const hook = `echo "$PODKIT_GIT_HASH $GITSYNC_HASH $PWD $(cat version.txt) secrets=$(env | grep -c '^PODKIT_SYNC_TOKEN')" >> ${out}; test $(wc -l < ${out}) -ge 2`;
    const app = await startGitPull(
      t,
      ['--repo', remote.fileUrl, '--period', '200ms', '--exechook-command', hook],
      {
        env: { PODKIT_SYNC_TOKEN: 'not-for-hooks' },
      },
    );
    await app.waitLive(remote.first);
    await waitFor(
      () => existsSync(out) && readFileSync(out, 'utf8').split('\n').filter(Boolean).length === 2,
      { timeoutMs: 30_000, what: 'the hook ran twice' },
    );
    const worktree = join(app.root, '.worktrees', remote.first);
    const expected = `${remote.first} ${remote.first} ${worktree} one secrets=0`;
    t.same(readFileSync(out, 'utf8').split('\n').filter(Boolean), [expected, expected]);
    await waitFor(
      async () =>
        metricValue(await app.metrics(), 'podkit_git_pull_hook_runs_total', {
          hook: 'exechook',
          result: 'success',
        }) === 1,
      { timeoutMs: 30_000, what: 'the successful run counted' },
    );
    const metrics = await app.metrics();
    t.equal(
      metricValue(metrics, 'podkit_git_pull_hook_runs_total', { hook: 'exechook', result: 'error' }),
      1,
    );
    t.equal(app.live(), remote.first, 'the failed hook did not unpublish');
    t.ok(
      app.logs.some(
        (line) =>
          line.code === 'PODKIT_ERR_COMMAND' &&
          line.msg === 'exechook failed; retrying (the revision stays published)',
      ),
    );
  },
);

t.test(
  'exechook: a hook over its timeout is killed and counted, and the next publish still happens',
  async (t) => {
    const remote = await makeRemote(t, { 'version.txt': 'one\n' });
    const app = await startGitPull(t, [
      '--repo',
      remote.fileUrl,
      '--period',
      '200ms',
      '--exechook-command',
      'sleep 30',
      '--exechook-timeout',
      '300ms',
    ]);
    const failure = await app.waitForLog((line) => line.code === 'PODKIT_ERR_COMMAND', 30_000);
    t.match(String(failure.err), /sh timed out after 300 ms/);
    const second = await remote.commit({ 'version.txt': 'two\n' });
    await remote.push();
    await app.waitLive(second);
    t.equal(app.read('version.txt'), 'two\n');
  },
);

t.test('webhook: called with the hash after publish, retried on a 500', async (t) => {
  const remote = await makeRemote(t);
  const calls: { method: string; headers: IncomingHttpHeaders; body: string; status: number }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const status = calls.length === 0 ? 500 : 204;
      calls.push({ method: req.method ?? '', headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as { port: number };
  const app = await startGitPull(t, [
    '--repo',
    remote.fileUrl,
    '--webhook-url',
    `http://127.0.0.1:${port}/deployed`,
  ]);
  await app.waitLive(remote.first);
  await waitFor(() => calls.length === 2, { timeoutMs: 30_000, what: 'the webhook retried after its 500' });
  for (const call of calls) {
    t.equal(call.method, 'POST');
    t.equal(call.headers['podkit-git-hash'], remote.first);
    t.same(JSON.parse(call.body), { hash: remote.first, ref: 'HEAD' });
  }
  await waitFor(
    async () =>
      metricValue(await app.metrics(), 'podkit_git_pull_hook_runs_total', {
        hook: 'webhook',
        result: 'success',
      }) === 1,
    { timeoutMs: 30_000, what: 'the webhook success counted' },
  );
  t.equal(
    metricValue(await app.metrics(), 'podkit_git_pull_hook_runs_total', { hook: 'webhook', result: 'error' }),
    1,
  );
  const lint = await promtoolCheck(await app.metrics());
  t.equal(lint.code, 0, `promtool check metrics: ${lint.output}`);
});

t.test(
  'signal: the app (by process name with SIGHUP, then by pid file with HUP) reloads the new tree after each push',
  async (t) => {
    const remote = await makeRemote(t, { 'version.txt': 'one\n' });
    const root = join(tempDir(t), 'root');
    const title = `podkit-reader-${process.pid}`;
    const pidFile = join(tempDir(t), 'app.pid');
    // The app: on SIGHUP it reads version.txt through the link and prints it.
    const app = spawn(
      process.execPath,
      [
        '-e',
        `process.title = ${JSON.stringify(title)};
       require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
       process.on('SIGHUP', () => console.log('reloaded ' + require('node:fs').readFileSync(${JSON.stringify(join(root, 'current', 'version.txt'))}, 'utf8').trim()));
       setInterval(() => {}, 1000); console.log('up');`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.teardown(() => void app.kill('SIGKILL'));
    let output = '';
    app.stdout.on('data', (chunk) => {
      output += chunk;
    });
    await waitFor(() => output.includes('up'), { timeoutMs: 30_000, what: 'the app is up' });

    const byName = await startGitPull(
      t,
      ['--repo', remote.fileUrl, '--period', '200ms', '--signal', 'SIGHUP', '--process-name', title],
      {
        root,
      },
    );
    await waitFor(() => output.includes('reloaded one'), {
      timeoutMs: 30_000,
      what: 'SIGHUP after the first publish',
    });
    const second = await remote.commit({ 'version.txt': 'two\n' });
    await remote.push();
    await byName.waitLive(second);
    await waitFor(() => output.includes('reloaded two'), {
      timeoutMs: 30_000,
      what: 'SIGHUP after the push',
    });
    t.equal((await byName.stop()).code, 0);

    const byPidFile = await startGitPull(
      t,
      // HUP, config-sync's spelling before the two shared one option: the same signal.
      ['--repo', remote.fileUrl, '--period', '200ms', '--signal', 'HUP', '--pid-file', pidFile],
      {
        root,
      },
    );
    const third = await remote.commit({ 'version.txt': 'three\n' });
    await remote.push();
    await byPidFile.waitLive(third);
    await waitFor(() => output.includes('reloaded three'), {
      timeoutMs: 30_000,
      what: 'SIGHUP found by pid file',
    });
    t.ok(
      (metricValue(await byPidFile.metrics(), 'podkit_git_pull_hook_runs_total', {
        hook: 'signal',
        result: 'success',
      }) ?? 0) >= 1,
    );
  },
);

t.test('--one-time with a failing hook: the tree is in place, the exit code is 1', async (t) => {
  const remote = await makeRemote(t, { 'version.txt': 'one\n' });
  const dir = tempDir(t);
  const terminationLog = join(dir, 'termination-log');
  writeFileSync(terminationLog, '');
  const run = spawnPodkit(t, [
    'git-pull',
    '--one-time',
    '--repo',
    remote.fileUrl,
    '--root',
    join(dir, 'root'),
    '--link',
    'app',
    '--exechook-command',
    'exit 3',
    '--admin-address',
    '127.0.0.1:0',
    '--termination-log',
    terminationLog,
  ]);
  t.equal((await run.exited).code, 1);
  t.equal(readFileSync(join(dir, 'root', 'app', 'version.txt'), 'utf8'), 'one\n');
  t.match(readFileSync(terminationLog, 'utf8'), /is live but a hook failed/);
  t.equal(run.logs.filter((line) => line.code === 'PODKIT_ERR_COMMAND').length, 1, 'one attempt, no retries');
});

t.test(
  'webhook: --webhook-method, --webhook-success-status and --webhook-timeout as the app sees them',
  async (t) => {
    const remote = await makeRemote(t);
    const calls: { method: string; body: string }[] = [];
    // The first call hangs past the timeout, the second answers 200 (not the status asked for), the
    // third answers 202: only then is the delivery a success.
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        calls.push({ method: req.method ?? '', body });
        if (calls.length === 1) return; // never answered
        res.writeHead(calls.length === 2 ? 200 : 202).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });
    const { port } = server.address() as { port: number };
    const app = await startGitPull(t, [
      '--repo',
      remote.fileUrl,
      '--period',
      '1h',
      '--webhook-url',
      `http://127.0.0.1:${port}/deployed`,
      '--webhook-method',
      'PUT',
      '--webhook-success-status',
      '202',
      '--webhook-timeout',
      '300ms',
    ]);
    await app.waitLive(remote.first);
    await waitFor(
      async () =>
        metricValue(await app.metrics(), 'podkit_git_pull_hook_runs_total', {
          hook: 'webhook',
          result: 'success',
        }) === 1,
      { timeoutMs: 30_000, what: 'the third call counted as the success' },
    );
    t.equal(calls.length, 3);
    t.same(
      calls.map((call) => call.method),
      ['PUT', 'PUT', 'PUT'],
    );
    t.same(JSON.parse(calls[0]?.body ?? '{}'), { hash: remote.first, ref: 'HEAD' });
    const failures = app.logs.filter(
      (line) => line.msg === 'webhook failed; retrying (the revision stays published)',
    );
    t.equal(failures.length, 2);
    t.match(String(failures[0]?.err), /300 ms|timed out|timeout/i, 'the hung call timed out');
    t.match(String(failures[1]?.err), /200/, 'a 200 is not the 202 asked for');
  },
);
