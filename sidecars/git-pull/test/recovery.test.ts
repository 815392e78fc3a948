/**
 * History depth and crashes: --depth 0 fetches the whole history, and a git-pull killed with SIGKILL in
 * the middle of a sync (git's lock files left behind, a worktree half checked out) starts again, cleans
 * up and publishes.
 */

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { git, makeRemote } from '../../../test/support/git.js';
import { startGitPull, tempDir } from './helpers.js';

t.test('--depth 0 fetches the full history; the default is one commit', async (t) => {
  const remote = await makeRemote(t, { 'version.txt': '1\n' });
  await remote.commit({ 'version.txt': '2\n' });
  const third = await remote.commit({ 'version.txt': '3\n' });
  await remote.push();

  const full = await startGitPull(t, ['--repo', remote.fileUrl, '--period', '1h', '--depth', '0']);
  await full.waitLive(third);
  t.equal(await git(join(full.root, '.git'), ['rev-list', '--count', third]), '3', 'all three commits');
  t.equal(await git(join(full.root, '.git'), ['rev-parse', '--is-shallow-repository']), 'false');

  const shallow = await startGitPull(t, ['--repo', remote.fileUrl, '--period', '1h']);
  await shallow.waitLive(third);
  t.equal(await git(join(shallow.root, '.git'), ['rev-list', '--count', third]), '1', 'one commit');
});

t.test(
  'after a SIGKILL mid-sync (stale locks, a half-made worktree) the next start cleans up and publishes',
  async (t) => {
    const remote = await makeRemote(t, { 'version.txt': 'one\n' });
    const root = join(tempDir(t), 'root');
    const args = ['--repo', remote.fileUrl, '--period', '200ms', '--max-failures', '-1'];
    const first = await startGitPull(t, args, { root });
    await first.waitLive(remote.first);
    first.signal('SIGKILL');
    t.equal((await first.exited).signal, 'SIGKILL');

    // What a kill during fetch and `git worktree add` leaves: git's locks, and a worktree directory with
    // part of its files and no .git link yet (and its registration in .git/worktrees, locked).
    const second = await remote.commit({ 'version.txt': 'two\n' });
    await remote.push();
    const gitDir = join(root, '.git');
    for (const lock of ['shallow.lock', 'index.lock', 'HEAD.lock', 'packed-refs.lock', 'config.lock'])
      writeFileSync(join(gitDir, lock), '');
    const halfMade = join(root, '.worktrees', second);
    mkdirSync(halfMade, { recursive: true });
    writeFileSync(join(halfMade, 'version.txt'), 'tw');
    mkdirSync(join(gitDir, 'worktrees', second), { recursive: true });
    writeFileSync(join(gitDir, 'worktrees', second, 'gitdir'), `${join(halfMade, '.git')}\n`);
    writeFileSync(join(gitDir, 'worktrees', second, 'index.lock'), '');

    const restarted = await startGitPull(t, args, { root });
    await restarted.waitLive(second);
    t.equal(restarted.read('version.txt'), 'two\n', 'the half-made worktree was made again, whole');
    t.same(
      readdirSync(gitDir).filter((name) => name.endsWith('.lock')),
      [],
      'no lock file is left',
    );
    t.equal(
      await git(halfMade, ['rev-parse', 'HEAD']),
      second,
      'the published worktree is a real one at the pushed commit',
    );
    const third = await remote.commit({ 'version.txt': 'three\n' });
    await remote.push();
    await restarted.waitLive(third);
    t.equal(restarted.read('version.txt'), 'three\n', 'and syncs go on');
  },
);
