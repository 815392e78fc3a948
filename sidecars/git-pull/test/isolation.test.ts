/**
 * git-pull's git is its own: the host's git config (a HOME's .gitconfig) changes nothing about what a
 * sync may fetch, and --no-symlinks checks a link in the repository out as a plain file.
 */

import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { makeRemote } from '../../../test/support/git.js';
import { runPodkit } from '../../../test/support/process.js';
import { startGitPull, tempDir } from './helpers.js';

const exec = promisify(execFile);

t.test("a HOME's protocol.file.allow=always does not let a file:// submodule through", async (t) => {
  const dir = tempDir(t);
  const library = await makeRemote(t, { 'lib.txt': 'library\n' }, 'library', dir);
  const app = await makeRemote(t, { 'app.txt': 'app\n' }, 'app', dir);
  // The test's own git allows it once, to make the submodule; git-pull must not.
  await app.git('-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'add', library.fileUrl, 'lib');
  await app.commit({}, 'add a file:// submodule');
  await app.push();
  const home = tempDir(t);
  writeFileSync(join(home, '.gitconfig'), '[protocol "file"]\n\tallow = always\n');

  // Control: with that HOME, a plain git fetches the submodule.
  const control = join(tempDir(t), 'clone');
  await exec('git', ['clone', '--quiet', '--recurse-submodules', app.fileUrl, control], {
    env: { PATH: process.env.PATH, HOME: home, GIT_TERMINAL_PROMPT: '0' },
  });
  t.equal(readFileSync(join(control, 'lib', 'lib.txt'), 'utf8'), 'library\n', "the HOME's config allows it");

  const root = join(tempDir(t), 'root');
  const run = await runPodkit(
    [
      'git-pull',
      '--repo',
      app.fileUrl,
      '--ref',
      'main',
      '--root',
      root,
      '--link',
      'current',
      '--one-time',
      '--max-failures',
      '1',
      '--admin-address',
      '127.0.0.1:0',
    ],
    { env: { HOME: home }, timeoutMs: 60_000 },
  );
  t.equal(run.code, 1, 'the sync fails');
  t.match(run.stdout, /transport 'file' not allowed/);
  t.throws(() => lstatSync(join(root, 'current')), 'nothing was published');
});

t.test('--no-symlinks: a link in the repository is checked out as a plain file', async (t) => {
  const remote = await makeRemote(t, { 'app.txt': 'app\n' });
  symlinkSync('/etc/passwd', join(remote.work, 'leak'));
  mkdirSync(join(remote.work, 'conf'));
  symlinkSync('../app.txt', join(remote.work, 'conf', 'inside'));
  const hash = await remote.commit({}, 'links');
  await remote.push();

  const plain = await startGitPull(t, ['--repo', remote.fileUrl, '--period', '1h', '--no-symlinks']);
  await plain.waitLive(hash);
  const leak = join(plain.root, plain.link, 'leak');
  t.ok(lstatSync(leak).isFile(), 'a plain file, not a link');
  t.equal(readFileSync(leak, 'utf8'), '/etc/passwd', 'holding the target as text');
  t.ok(lstatSync(join(plain.root, plain.link, 'conf', 'inside')).isFile());

  const links = await startGitPull(t, ['--repo', remote.fileUrl, '--period', '1h']);
  await links.waitLive(hash);
  t.ok(lstatSync(join(links.root, links.link, 'leak')).isSymbolicLink(), 'by default links stay links');
});
