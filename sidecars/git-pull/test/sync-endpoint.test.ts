/**
 * POST /sync on the admin port: off by default (403), on for token holders (re-read per request) and,
 * with --sync-open, for anyone; a push is live when the answer arrives; requests beyond the rate limit
 * get 429 with Retry-After, counted apart for token holders and for callers without a token.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeRemote } from '../../../test/support/git.js';
import { httpRequest } from '../../../test/support/http.js';
import { runPodkit } from '../../../test/support/process.js';
import { metricValue, startGitPull, tempDir } from './helpers.js';

t.test('by default POST /sync is off: 403, nothing synced, counted as disabled', async (t) => {
  const remote = await makeRemote(t, { 'version.txt': 'one\n' });
  const app = await startGitPull(t, ['--repo', remote.fileUrl, '--period', '1h']);
  await app.waitLive(remote.first);
  await remote.commit({ 'version.txt': 'two\n' });
  await remote.push();
  for (const headers of [{}, { authorization: 'Bearer anything' }] as Record<string, string>[]) {
    const answer = await httpRequest(`${app.adminUrl}/sync`, { method: 'POST', headers });
    t.equal(answer.status, 403);
    t.match(JSON.parse(answer.body), {
      code: 'PODKIT_ERR_UNAUTHORIZED',
      error: /--sync-token-file \(or --sync-open\)/,
    });
  }
  t.equal(app.live(), remote.first, 'the push is not published: no sync ran');
  const metrics = await app.metrics();
  t.equal(metricValue(metrics, 'podkit_git_pull_sync_requests_total', { result: 'disabled' }), 2);
  t.equal(metricValue(metrics, 'podkit_git_pull_syncs_total', { result: 'success' }), 1, 'the first only');
});

t.test('--sync-open: the push is live when the answer comes; sooner requests get 429', async (t) => {
  const remote = await makeRemote(t, { 'version.txt': 'one\n' });
  // An hour between periodic syncs: anything live after the first publish came from POST /sync.
  const app = await startGitPull(t, ['--repo', remote.fileUrl, '--period', '1h', '--sync-open']);
  await app.waitLive(remote.first);
  const second = await remote.commit({ 'version.txt': 'two\n' });
  await remote.push();

  // Two at once: the rate limit counts from the accepted request, whatever the sync's duration.
  const both = await Promise.all([
    httpRequest(`${app.adminUrl}/sync`, { method: 'POST' }),
    httpRequest(`${app.adminUrl}/sync`, { method: 'POST' }),
  ]);
  t.same(both.map((r) => r.status).sort(), [200, 429], 'one is accepted, the other is rate-limited');
  const answer = both.find((r) => r.status === 200) ?? { status: 0, body: '{}', headers: {} };
  const tooSoon = both.find((r) => r.status === 429) ?? { status: 0, body: '{}', headers: {} };
  t.match(JSON.parse(answer.body), { result: 'success', hash: second });
  t.equal(app.live(), second, 'live by the time the answer arrives');
  t.equal(app.read('version.txt'), 'two\n');

  t.equal(tooSoon.status, 429);
  t.equal(tooSoon.headers['retry-after'], '1');
  t.equal(JSON.parse(tooSoon.body).code, 'PODKIT_ERR_RATE_LIMITED');

  // A caller that waits what Retry-After says is served.
  await new Promise((resolve) => setTimeout(resolve, Number(tooSoon.headers['retry-after']) * 1000 + 100));
  const again = await httpRequest(`${app.adminUrl}/sync`, { method: 'POST' });
  t.equal(again.status, 200);
  t.match(JSON.parse(again.body), { result: 'noop', hash: second });

  const metrics = await app.metrics();
  t.equal(metricValue(metrics, 'podkit_git_pull_sync_requests_total', { result: 'accepted' }), 2);
  t.equal(metricValue(metrics, 'podkit_git_pull_sync_requests_total', { result: 'rate_limited' }), 1);
  t.equal(metricValue(metrics, 'podkit_git_pull_limit_rejections_total', { limit: 'sync_min_interval' }), 1);
  const get = await httpRequest(`${app.adminUrl}/sync`);
  t.equal(get.status, 405, 'GET does not sync');
  t.equal(get.headers.allow, 'POST');
  const after = await app.metrics();
  for (const [result, count] of Object.entries({ accepted: 2, rate_limited: 1 })) {
    t.equal(metricValue(after, 'podkit_git_pull_sync_requests_total', { result }), count, 'nor counts');
  }
  t.same(
    after.split('\n').filter((line) => line.startsWith('podkit_git_pull_sync_requests_total{')).length,
    2,
    'under any result',
  );
});

t.test('with --sync-token-file: 401 without the bearer token, the file is re-read per request', async (t) => {
  const remote = await makeRemote(t);
  const tokenFile = join(tempDir(t), 'token');
  writeFileSync(tokenFile, 'first-token\n');
  const app = await startGitPull(t, [
    '--repo',
    remote.fileUrl,
    '--period',
    '1h',
    '--sync-token-file',
    tokenFile,
    '--sync-min-interval',
    '0',
  ]);
  const post = (authorization?: string) =>
    httpRequest(`${app.adminUrl}/sync`, {
      method: 'POST',
      ...(authorization ? { headers: { authorization } } : {}),
    });

  const none = await post();
  t.equal(none.status, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="git-pull"');
  t.equal(JSON.parse(none.body).code, 'PODKIT_ERR_UNAUTHORIZED');
  t.equal((await post('Bearer wrong-token')).status, 401);
  t.equal((await post('Basic Zmlyc3QtdG9rZW4=')).status, 401, 'only a bearer token counts');
  t.equal((await post('Bearer first-token')).status, 200);
  const labelledJson = await httpRequest(`${app.adminUrl}/sync`, {
    method: 'POST',
    headers: { authorization: 'Bearer first-token', 'content-type': 'application/json' },
  });
  t.equal(labelledJson.status, 200, 'an empty body labelled JSON (curl -H, CI tools) is fine');
  const webhookBody = await httpRequest(`${app.adminUrl}/sync`, {
    method: 'POST',
    headers: { authorization: 'Bearer first-token', 'content-type': 'application/json' },
    body: JSON.stringify({ ref: 'refs/heads/main', after: 'abc' }),
  });
  t.equal(webhookBody.status, 200, "a git server's push event body is ignored");

  writeFileSync(tokenFile, 'second-token\n');
  t.equal((await post('Bearer first-token')).status, 401, 'a rotated-out token stops working');
  t.equal((await post('Bearer second-token')).status, 200, 'the new one works without a restart');
  t.equal(
    metricValue(await app.metrics(), 'podkit_git_pull_sync_requests_total', { result: 'unauthorized' }),
    4,
  );
  t.notOk(JSON.stringify(app.logs).includes('second-token'), 'the token is never logged');
});

t.test("--sync-open with a token: callers without it cannot take the token holders' turn", async (t) => {
  const remote = await makeRemote(t, { 'version.txt': 'one\n' });
  const tokenFile = join(tempDir(t), 'token');
  writeFileSync(tokenFile, 'ci-token\n');
  const app = await startGitPull(t, [
    '--repo',
    remote.fileUrl,
    '--period',
    '1h',
    '--sync-open',
    '--sync-token-file',
    tokenFile,
    '--sync-min-interval',
    '1h',
  ]);
  await app.waitLive(remote.first);
  const post = (headers: Record<string, string> = {}) =>
    httpRequest(`${app.adminUrl}/sync`, { method: 'POST', headers });

  // An outsider takes the open turn, and the next outsider is rate-limited for the hour.
  t.equal((await post()).status, 200, 'open: accepted without a token');
  t.equal((await post()).status, 429, 'the open turn is used up');
  t.equal((await post({ authorization: 'Bearer guessed' })).status, 401, 'a wrong token is refused');

  const second = await remote.commit({ 'version.txt': 'two\n' });
  await remote.push();
  const ci = await post({ authorization: 'Bearer ci-token' });
  t.equal(ci.status, 200, "the token holder's turn is its own");
  t.match(JSON.parse(ci.body), { result: 'success', hash: second });
  t.equal(app.live(), second);
  t.equal((await post({ authorization: 'Bearer ci-token' })).status, 429, 'token holders have a limit too');
  const metrics = await app.metrics();
  t.equal(metricValue(metrics, 'podkit_git_pull_sync_requests_total', { result: 'accepted' }), 2);
  t.equal(metricValue(metrics, 'podkit_git_pull_sync_requests_total', { result: 'unauthorized' }), 1);
  t.equal(metricValue(metrics, 'podkit_git_pull_limit_rejections_total', { limit: 'sync_min_interval' }), 2);
});

t.test('--help says what an open POST /sync allows', async (t) => {
  const help = await runPodkit(['git-pull', '--help']);
  t.equal(help.code, 0);
  const text = help.stdout.replace(/\s+/g, ' ');
  t.match(text, /--sync-open .*whoever reaches the admin port can then make git-pull fetch and publish/);
  t.match(text, /without it or --sync-open POST \/sync answers 403/);
});
