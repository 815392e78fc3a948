/**
 * The git test support itself: a remote that takes commits and pushes, a git daemon that really stops
 * and starts again on its port, and an HTTP remote that really refuses wrong credentials.
 */

import t from 'tap';
import { git, makeRemote, startGitDaemon, startGitHttp } from './git.js';

t.test('makeRemote: commits and pushes land in the bare repository', async (t) => {
  const remote = await makeRemote(t, { 'a.txt': 'a\n' });
  t.equal(await git(remote.bare, ['rev-parse', 'refs/heads/main']), remote.first);
  const second = await remote.commit({ 'dir/b.txt': 'b\n' });
  await remote.push();
  t.equal(await git(remote.bare, ['rev-parse', 'refs/heads/main']), second);
  t.equal(await git(remote.bare, ['show', `${second}:dir/b.txt`]), 'b');
});

t.test('startGitDaemon: serves, stops (connection refused), starts again on the same port', async (t) => {
  const remote = await makeRemote(t);
  const daemon = await startGitDaemon(t, remote.dir);
  const listing = () => git(remote.dir, ['ls-remote', daemon.url('app.git'), 'refs/heads/main']);
  t.match(await listing(), new RegExp(`^${remote.first}\\trefs/heads/main$`));
  await daemon.stop();
  await t.rejects(listing(), /Connection refused|unable to connect/);
  await daemon.start();
  t.match(await listing(), new RegExp(`^${remote.first}`));
});

t.test('startGitHttp: 401 without the right credentials, the smart protocol with them', async (t) => {
  const remote = await makeRemote(t);
  const server = await startGitHttp(t, remote.dir, { username: 'deploy', password: 'right' });
  const url = (password: string) => server.url('app.git').replace('http://', `http://deploy:${password}@`);
  await t.rejects(git(remote.dir, ['ls-remote', url('wrong')]), /Authentication failed/);
  t.ok(server.refused >= 1);
  t.match(
    await git(remote.dir, ['ls-remote', url('right'), 'refs/heads/main']),
    new RegExp(`^${remote.first}`),
  );
  const clone = `${remote.dir}/clone`;
  await git(remote.dir, ['clone', '--quiet', '--depth', '1', url('right'), clone]);
  t.equal(await git(clone, ['rev-parse', 'HEAD']), remote.first, 'a shallow clone over HTTP works');
});
