/**
 * Credentials against a real authenticating remote (git http-backend behind basic auth): read from a
 * file on every sync, refused credentials keep the last good revision live, and the password shows up
 * nowhere: not in logs, metrics, POST /sync answers, nor in the arguments of any git process.
 */

import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { makeRemote, startGitHttp } from '../../../test/support/git.js';
import { httpRequest } from '../../../test/support/http.js';
import { statFields } from '../../../test/support/proc-stat.js';
import { metricValue, startGitPull, tempDir } from './helpers.js';

/** Command lines of every descendant of `pid`, sampled for `ms` (git runs briefly, so look often). */
async function sampleDescendants(pid: number, ms: number): Promise<string[]> {
  const seen = new Set<string>();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const parents = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        parents.set(Number(entry), Number(statFields(stat)[1]));
      } catch {
        // exited meanwhile
      }
    }
    for (const [child] of parents) {
      let ancestor = parents.get(child);
      while (ancestor !== undefined && ancestor !== pid && ancestor > 1) ancestor = parents.get(ancestor);
      if (ancestor !== pid) continue;
      try {
        seen.add(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim());
      } catch {
        // exited meanwhile
      }
    }
    await sleep(2);
  }
  return [...seen];
}

t.test(
  'basic auth from a password file: re-read each sync, refused credentials keep the last good revision',
  async (t) => {
    const secret = `s3cret-${randomBytes(8).toString('hex')}`;
    const remote = await makeRemote(t, { 'version.txt': 'one\n' });
    const server = await startGitHttp(t, remote.dir, { username: 'deploy', password: secret });
    const passwordFile = join(tempDir(t), 'password');
    writeFileSync(passwordFile, `${secret}\n`);
    const app = await startGitPull(t, [
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
    ]);
    await app.waitLive(remote.first);
    t.equal(app.read('version.txt'), 'one\n');

    const commands = await sampleDescendants(app.pid, 1500);
    t.ok(
      commands.some((command) => command.startsWith('git')),
      `git processes were sampled (${commands.length})`,
    );
    t.notOk(
      commands.some((command) => command.includes(secret)),
      'no process argument carries the password',
    );

    writeFileSync(passwordFile, 'wrong-password\n');
    const refusedBefore = server.refused;
    const second = await remote.commit({ 'version.txt': 'two\n' });
    await remote.push();
    const failure = await app.waitForLog((line) => line.code === 'PODKIT_ERR_GIT_AUTH', 30_000);
    t.match(String(failure.err), /Authentication failed for 'http:\/\/127\.0\.0\.1:\d+\/app\.git\/'/);
    t.ok(server.refused > refusedBefore, 'the server refused the rotated (wrong) password');
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
  t.ok(app.logs.some((line) => line.level === 'warn' && /password in --repo/.test(String(line.msg))));

  server.setPassword('rotated-on-the-server');
  await app.waitForLog((line) => line.code === 'PODKIT_ERR_GIT_AUTH', 30_000);
  const everything = [JSON.stringify(app.logs), app.text.join('\n'), await app.metrics()].join('\n');
  t.notOk(everything.includes(secret), 'the password from the URL is in no log line or metric');
  t.ok((metricValue(await app.metrics(), 'podkit_git_pull_syncs_total', { result: 'error' }) ?? 0) >= 1);
});
