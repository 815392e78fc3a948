/**
 * POST /sync on the admin port: a push is live when the answer arrives; a token guards it when
 * configured (re-read per request); requests beyond the rate limit get 429 with Retry-After.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeRemote } from '../../../test/support/git.js';
import { httpRequest } from '../../../test/support/http.js';
import { metricValue, startGitPull, tempDir } from './helpers.js';

t.test('open POST /sync: the push is live when the answer comes; sooner requests get 429', async (t) => {
  const remote = await makeRemote(t, { 'version.txt': 'one\n' });
  // An hour between periodic syncs: anything live after the first publish came from POST /sync.
  const app = await startGitPull(t, ['--repo', remote.fileUrl, '--period', '1h']);
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

  await new Promise((resolve) => setTimeout(resolve, 1100));
  const again = await httpRequest(`${app.adminUrl}/sync`, { method: 'POST' });
  t.equal(again.status, 200);
  t.match(JSON.parse(again.body), { result: 'noop', hash: second });

  const metrics = await app.metrics();
  t.equal(metricValue(metrics, 'podkit_git_pull_sync_requests_total', { result: 'accepted' }), 2);
  t.equal(metricValue(metrics, 'podkit_git_pull_sync_requests_total', { result: 'rate_limited' }), 1);
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
