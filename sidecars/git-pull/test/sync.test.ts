/**
 * git-pull against real repositories, over file:// and over git daemon on loopback: what a push, a
 * force-push, a moved tag, a deleted branch and an outage do to the tree the app reads.
 */

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeRemote, startGitDaemon } from '../../../test/support/git.js';
import { httpRequest } from '../../../test/support/http.js';
import { waitFor } from '../../../test/support/wait.js';
import { metricValue, startGitPull, tempDir } from './helpers.js';

t.test(
  'file://, a branch: first publish, pushes go live, old worktrees go, nothing else under --root is touched',
  async (t) => {
    const remote = await makeRemote(t, { 'version.txt': '1\n' });
    const root = join(tempDir(t), 'shared');
    mkdirSync(join(root, 'other'), { recursive: true });
    writeFileSync(join(root, 'other', 'keep.txt'), 'not ours\n');
    writeFileSync(join(root, 'notes.txt'), 'not ours either\n');

    const app = await startGitPull(t, ['--repo', remote.fileUrl, '--ref', 'main', '--period', '200ms'], {
      root,
    });
    await app.waitLive(remote.first);
    t.equal(app.read('version.txt'), '1\n', 'the app reads the tree through the link');
    t.equal(await app.readyStatus(), 200);

    const pushed = [remote.first];
    for (const version of [2, 3, 4]) {
      const hash = await remote.commit({ 'version.txt': `${version}\n` });
      await remote.push();
      await app.waitLive(hash);
      t.equal(app.read('version.txt'), `${version}\n`, `push ${version} is live`);
      pushed.push(hash);
    }
    await waitFor(() => readdirSync(join(root, '.worktrees')).length === 2, {
      timeoutMs: 30_000,
      what: 'old worktrees removed',
    });
    t.same(
      readdirSync(join(root, '.worktrees')).sort(),
      pushed.slice(-2).sort(),
      'the live one and 1 kept (default)',
    );
    t.same(readdirSync(root).sort(), ['.git', '.worktrees', 'current', 'notes.txt', 'other']);
    t.equal(readFileSync(join(root, 'other', 'keep.txt'), 'utf8'), 'not ours\n');
    t.equal(readFileSync(join(root, 'notes.txt'), 'utf8'), 'not ours either\n');

    // The sync is counted once it is complete (after the swap and the cleanup).
    await waitFor(
      async () =>
        metricValue(await app.metrics(), 'podkit_git_pull_syncs_total', { result: 'success' }) === 4,
      { timeoutMs: 30_000, what: '4 successful syncs counted' },
    );
    // With nothing new pushed, the next period's sync is a no-op, and counted as one.
    await waitFor(
      async () =>
        (metricValue(await app.metrics(), 'podkit_git_pull_syncs_total', { result: 'noop' }) ?? 0) >= 1,
      { timeoutMs: 10_000, what: 'a no-op sync counted' },
    );
    const metrics = await app.metrics();
    t.equal(
      metricValue(metrics, 'podkit_git_pull_revision_info', { hash: pushed[3] as string, ref: 'main' }),
      1,
    );
    t.equal(
      metricValue(metrics, 'podkit_git_pull_revision_info', { hash: remote.first }),
      undefined,
      'one revision series',
    );
    t.ok(
      (metricValue(metrics, 'podkit_git_pull_last_success_timestamp_seconds') ?? 0) > Date.now() / 1000 - 60,
    );
    t.equal(metricValue(metrics, 'podkit_git_pull_sync_duration_seconds_count', { result: 'success' }), 4);
    t.equal((await app.stop()).code, 0);
  },
);

t.test('git daemon: a tag, a moved tag, and a commit hash that stays put', async (t) => {
  const remote = await makeRemote(t, { 'version.txt': 'tagged\n' });
  await remote.git('tag', '--annotate', '--message', 'release', 'v1');
  await remote.push('refs/tags/v1');
  const daemon = await startGitDaemon(t, remote.dir);
  const url = daemon.url('app.git');

  const byTag = await startGitPull(t, ['--repo', url, '--ref', 'v1', '--period', '200ms']);
  await byTag.waitLive(remote.first);
  t.equal(byTag.read('version.txt'), 'tagged\n', 'the annotated tag is peeled to its commit');

  const byHash = await startGitPull(t, ['--repo', url, '--ref', remote.first, '--period', '200ms']);
  await byHash.waitLive(remote.first);

  const second = await remote.commit({ 'version.txt': 'untagged\n' });
  await remote.push();
  const noops = async (app: typeof byTag) =>
    metricValue(await app.metrics(), 'podkit_git_pull_syncs_total', { result: 'noop' }) ?? 0;
  const before = await noops(byTag);
  await waitFor(async () => (await noops(byTag)) >= before + 2, {
    timeoutMs: 30_000,
    what: 'two more syncs of v1',
  });
  t.equal(byTag.live(), remote.first, 'a push to the branch does not move the tag');

  await remote.git('tag', '--force', '--annotate', '--message', 'release again', 'v1', second);
  await remote.push('--force', 'refs/tags/v1');
  await byTag.waitLive(second);
  t.equal(byTag.read('version.txt'), 'untagged\n', 'the moved tag is followed');

  t.equal(byHash.live(), remote.first, 'a commit hash never moves');
  t.equal(byHash.read('version.txt'), 'tagged\n');
});

t.test(
  'force-push moves the published commit; a deleted branch keeps the last good revision live',
  async (t) => {
    const remote = await makeRemote(t, { 'version.txt': 'base\n' });
    const daemon = await startGitDaemon(t, remote.dir);
    const feature = await remote.commit({ 'version.txt': 'feature 1\n' });
    await remote.push('HEAD:refs/heads/feature');
    const app = await startGitPull(t, [
      '--repo',
      daemon.url('app.git'),
      '--ref',
      'feature',
      '--period',
      '200ms',
    ]);
    await app.waitLive(feature);

    await remote.git('reset', '--quiet', '--hard', remote.first);
    const rewritten = await remote.commit({ 'version.txt': 'feature rewritten\n' });
    await remote.push('--force', 'HEAD:refs/heads/feature');
    await app.waitLive(rewritten);
    t.equal(app.read('version.txt'), 'feature rewritten\n', 'the force-pushed commit is live');

    await remote.push('--delete', 'refs/heads/feature');
    const missing = await app.waitForLog((line) => line.code === 'PODKIT_ERR_GIT_REF', 30_000);
    t.match(String(missing.err), /ref "feature" does not exist on git:\/\/127\.0\.0\.1:\d+\/app\.git/);
    t.equal(app.live(), rewritten, 'the last good revision stays published');
    t.equal(app.read('version.txt'), 'feature rewritten\n');
    t.equal(await app.readyStatus(), 200, 'and the sidecar stays ready');
    const failing = await app.metrics();
    t.ok((metricValue(failing, 'podkit_git_pull_syncs_total', { result: 'error' }) ?? 0) >= 1);
    t.ok((metricValue(failing, 'podkit_git_pull_consecutive_failures') ?? 0) >= 1);

    const recreated = await remote.commit({ 'version.txt': 'feature again\n' });
    await remote.push('HEAD:refs/heads/feature');
    await app.waitLive(recreated);
    await waitFor(
      async () => metricValue(await app.metrics(), 'podkit_git_pull_consecutive_failures') === 0,
      { timeoutMs: 30_000, what: 'the failure count reset by the good sync' },
    );
    t.pass('the failure count is back to 0');
  },
);

t.test(
  'remote down then back: the last good revision keeps serving, retries back off, the push goes live',
  async (t) => {
    const remote = await makeRemote(t, { 'version.txt': 'before the outage\n' });
    const daemon = await startGitDaemon(t, remote.dir);
    const app = await startGitPull(t, [
      '--repo',
      daemon.url('app.git'),
      '--period',
      '200ms',
      '--max-backoff',
      '1s',
      '--max-failures',
      '-1',
    ]);
    await app.waitLive(remote.first);

    await daemon.stop();
    const during = await remote.commit({ 'version.txt': 'pushed during the outage\n' });
    await remote.push();
    const failures = () =>
      app.logs.filter((line) => line.msg === 'sync failed; the last good revision stays live');
    await waitFor(() => failures().length >= 4, { timeoutMs: 20_000, what: '4 failed syncs' });
    const delays = failures().map((line) => Number(line.retryInMs));
    t.ok((delays[0] as number) <= 200, `the first retry comes after at most the period (${delays[0]} ms)`);
    t.ok((delays[2] as number) >= 400, `retries back off (${delays.slice(0, 4).join(', ')} ms)`);
    t.ok(
      delays.every((delay) => delay <= 1000),
      'never beyond --max-backoff',
    );
    t.match(String(failures()[0]?.err), /git ls-remote failed: .*(unable to connect|Connection refused)/i);
    t.equal(app.live(), remote.first, 'the last good revision stays published');
    t.equal(app.read('version.txt'), 'before the outage\n');
    t.equal(await app.readyStatus(), 200);

    await daemon.start();
    await app.waitLive(during);
    t.equal(app.read('version.txt'), 'pushed during the outage\n');
  },
);

t.test('/readyz is 503 until the first publish; a restart serves the published tree at once', async (t) => {
  const remote = await makeRemote(t);
  const daemon = await startGitDaemon(t, remote.dir);
  await daemon.stop();
  const root = join(tempDir(t), 'root');
  const args = [
    '--repo',
    daemon.url('app.git'),
    '--period',
    '100ms',
    '--max-backoff',
    '300ms',
    '--max-failures',
    '-1',
  ];
  const first = await startGitPull(t, args, { root, ready: false });
  await first.waitForLog('sync failed; the last good revision stays live', 30_000);
  t.equal(await first.readyStatus(), 503, 'not ready while nothing is published');
  t.equal(first.live(), undefined);

  await daemon.start();
  await first.waitLive(remote.first);
  await waitFor(async () => (await first.readyStatus()) === 200, {
    timeoutMs: 30_000,
    what: 'ready after the first publish',
  });
  t.equal((await first.stop()).code, 0);

  await daemon.stop();
  const second = await startGitPull(t, args, { root, ready: false });
  await second.waitForLog('found a published revision: serving it until the first sync', 30_000);
  await waitFor(async () => (await second.readyStatus()) === 200, {
    timeoutMs: 30_000,
    what: 'ready with the adopted tree',
  });
  await second.waitForLog('sync failed; the last good revision stays live', 30_000);
  t.equal(second.live(), remote.first, 'the tree from before the restart is still live');
  t.equal(await second.readyStatus(), 200, 'ready although the remote is down');

  await daemon.start();
  rmSync(join(root, 'current'));
  rmSync(join(root, '.worktrees', remote.first), { recursive: true });
  await second.waitLive(remote.first);
  t.equal(second.read('README.md'), 'first\n', 'a deleted link and worktree are restored at the next sync');
});

t.test(
  'publishes are bursts: once their garbage in old space is worth it, git-pull collects it',
  async (t) => {
    const remote = await makeRemote(t, { 'version.txt': '1\n' });
    // An hour between periodic syncs: every sync after the first is a publish that POST /sync asked for.
    // No rate limit on POST /sync: it is not the subject here.
    const app = await startGitPull(t, [
      '--repo',
      remote.fileUrl,
      '--period',
      '1h',
      '--log-level',
      'debug',
      '--sync-open',
      '--sync-min-interval',
      '0',
    ]);
    await app.waitLive(remote.first);
    const collected = () => app.logs.filter((line) => line.msg === 'collected the garbage of syncs');
    // Each sync's housekeeping ends with one of these two lines.
    const housekeeping = () =>
      collected().length +
      app.logs.filter((line) => line.msg === 'no garbage of syncs worth collecting yet').length;
    await waitFor(() => housekeeping() === 1, { what: "the first sync's housekeeping" });
    const already = collected().length;
    let publishes = 0;
    while (collected().length === already && publishes < 12) {
      const hash = await remote.commit({ 'version.txt': `${publishes + 2}\n` });
      await remote.push();
      const done = housekeeping();
      const answer = await httpRequest(`${app.adminUrl}/sync`, { method: 'POST' });
      t.equal(JSON.parse(answer.body).hash, hash, `publish ${++publishes}`);
      // The collection runs after the answer.
      await waitFor(() => housekeeping() > done, { what: `the housekeeping of publish ${publishes}` });
    }
    const line = collected()[already];
    t.ok(line && publishes > 0, `a collection after ${publishes} publishes`);
    const { before, after } = (line?.oldGenerationMb ?? {}) as { before?: number; after?: number };
    t.ok((before ?? 0) - (after ?? 0) >= 0.25, `old generation ${before} -> ${after} MB`);
  },
);
