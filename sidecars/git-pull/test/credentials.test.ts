/**
 * Credentials against a real authenticating remote (git http-backend behind basic auth): read from a
 * file on every sync, refused credentials keep the last good revision live, and the password shows up
 * nowhere: not in logs, metrics, POST /sync answers, the termination log, nor in the arguments of any
 * git process (a shim on PATH logs every git run, and GIT_TRACE every command git starts itself).
 */

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeRemote, startGitHttp } from '../../../test/support/git.js';
import { httpRequest } from '../../../test/support/http.js';
import { waitFor } from '../../../test/support/wait.js';
import { commandShim, metricValue, startGitPull, tempDir, withShims } from './helpers.js';

t.test(
  'basic auth from a password file: re-read each sync, refused credentials keep the last good revision',
  async (t) => {
    const secret = `s3cret-${randomBytes(8).toString('hex')}`;
    const remote = await makeRemote(t, { 'version.txt': 'one\n' });
    const server = await startGitHttp(t, remote.dir, { username: 'deploy', password: secret });
    const passwordFile = join(tempDir(t), 'password');
    writeFileSync(passwordFile, `${secret}\n`);
    const git = commandShim(t, 'git');
    const app = await startGitPull(
      t,
      [
        '--repo',
        server.url('app.git'),
        '--username',
        'deploy',
        '--password-file',
        passwordFile,
        '--period',
        '150ms',
        '--max-backoff',
        '300ms',
        '--max-failures',
        '-1',
        '--sync-open',
      ],
      { env: withShims(git) },
    );
    await app.waitLive(remote.first);
    t.equal(app.read('version.txt'), 'one\n');

    writeFileSync(passwordFile, 'wrong-password\n');
    const refusedBefore = server.refused;
    // A failure means that sync read the wrong password, and so will every later one; a sync that read
    // the good one before the write could still publish a push, so the push comes after.
    const failure = await app.waitForLog((line) => line.code === 'PODKIT_ERR_GIT_AUTH', 30_000);
    t.match(String(failure.err), /Authentication failed for 'http:\/\/127\.0\.0\.1:\d+\/app\.git\/'/);
    t.ok(server.refused > refusedBefore, 'the server refused the rotated (wrong) password');
    const second = await remote.commit({ 'version.txt': 'two\n' });
    await remote.push();
    const authFailures = () => app.logs.filter((line) => line.code === 'PODKIT_ERR_GIT_AUTH').length;
    const failedBeforePush = authFailures();
    await waitFor(() => authFailures() > failedBeforePush, {
      timeoutMs: 30_000,
      what: 'a sync after the push',
    });
    t.equal(app.live(), remote.first, 'the last good revision stays live');
    t.equal(await app.readyStatus(), 200);
    const answer = await httpRequest(`${app.adminUrl}/sync`, { method: 'POST' });
    t.equal(answer.status, 502, 'POST /sync reports the failed sync');
    t.equal(JSON.parse(answer.body).code, 'PODKIT_ERR_GIT_AUTH');

    writeFileSync(passwordFile, secret);
    await app.waitLive(second);
    t.equal(app.read('version.txt'), 'two\n', 'the fixed password file is used at the next sync');

    const everything = [JSON.stringify(app.logs), app.text.join('\n'), await app.metrics(), answer.body].join(
      '\n',
    );
    t.notOk(everything.includes(secret), 'the password is in no log line, metric or answer');
    t.notOk(everything.includes('wrong-password'), 'nor is the wrong one');
    const runs = git.runs();
    t.ok(
      runs.some((run) => run.startsWith('ls-remote')) && runs.some((run) => run.startsWith('fetch')),
      `every git run is logged (${runs.length})`,
    );
    t.match(git.trace(), /remote-http/, "and the commands git starts, the remote helper's included");
    t.notOk(`${runs.join('\n')}${git.trace()}`.includes(secret), 'no git argument carries the password');
  },
);

t.test('a password written into --repo works, is redacted everywhere, and draws a warning', async (t) => {
  const secret = `urlpw-${randomBytes(8).toString('hex')}`;
  const remote = await makeRemote(t, { 'version.txt': 'one\n' });
  const server = await startGitHttp(t, remote.dir, { username: 'deploy', password: secret });
  const url = server.url('app.git').replace('http://', `http://deploy:${secret}@`);
  const app = await startGitPull(t, ['--repo', url, '--period', '150ms', '--max-failures', '-1']);
  await app.waitLive(remote.first);
  const starting = app.logs.find((line) => line.msg === 'starting') as { options: { repo: string } };
  t.match(starting.options.repo, /^http:\/\/deploy:redacted@127\.0\.0\.1:\d+\/app\.git$/);
  t.ok(app.logs.some((line) => line.level === 'warn' && /credentials in --repo/.test(String(line.msg))));

  server.setPassword('rotated-on-the-server');
  await app.waitForLog((line) => line.code === 'PODKIT_ERR_GIT_AUTH', 30_000);
  const everything = [JSON.stringify(app.logs), app.text.join('\n'), await app.metrics()].join('\n');
  t.notOk(everything.includes(secret), 'the password from the URL is in no log line or metric');
  t.ok((metricValue(await app.metrics(), 'podkit_git_pull_syncs_total', { result: 'error' }) ?? 0) >= 1);
});

t.test(
  'a token as the URL user name (https://TOKEN@host/repo): through the credential helper, in no argument, log or termination log',
  async (t) => {
    const token = `ghp_${randomBytes(12).toString('hex')}`;
    const remote = await makeRemote(t, { 'version.txt': 'one\n' });
    const server = await startGitHttp(t, remote.dir, { username: token, password: '' });
    const url = server.url('app.git').replace('http://', `http://${token}@`);
    const terminationLog = join(tempDir(t), 'termination-log');
    const git = commandShim(t, 'git');
    const app = await startGitPull(
      t,
      [
        '--repo',
        url,
        '--period',
        '150ms',
        '--max-backoff',
        '300ms',
        '--max-failures',
        '3',
        '--termination-log',
        terminationLog,
      ],
      { env: withShims(git) },
    );
    await app.waitLive(remote.first);
    t.equal(app.read('version.txt'), 'one\n', 'the token was accepted');
    const starting = app.logs.find((line) => line.msg === 'starting') as { options: { repo: string } };
    t.match(starting.options.repo, /^http:\/\/redacted@127\.0\.0\.1:\d+\/app\.git$/);
    t.ok(app.logs.some((line) => line.level === 'warn' && /credentials in --repo/.test(String(line.msg))));
    const metrics = await app.metrics();

    // The token is revoked: the syncs fail until --max-failures ends the process with the reason.
    server.setPassword('revoked');
    t.equal((await app.exited).code, 1);
    const reason = readFileSync(terminationLog, 'utf8');
    t.match(reason, /3 consecutive sync failures .*PODKIT_ERR_GIT_AUTH/);

    const runs = git.runs();
    t.ok(
      runs.some((run) => run.startsWith('ls-remote') && run.includes('http://127.0.0.1:')),
      `git was given the URL without the token (${runs.length} runs)`,
    );
    t.match(git.trace(), /remote-http/);
    const everything = [
      JSON.stringify(app.logs),
      app.text.join('\n'),
      metrics,
      reason,
      runs.join('\n'),
      git.trace(),
    ].join('\n');
    t.notOk(everything.includes(token), 'the token is in no log, metric, termination log or git argument');
  },
);
