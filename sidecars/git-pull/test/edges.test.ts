/**
 * The edges: submodules, a remote that hangs (--sync-timeout), and configuration refused before
 * anything starts (exit 2, one line naming the option).
 */

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { makeRemote, startGitDaemon } from '../../../test/support/git.js';
import { runPodkit } from '../../../test/support/process.js';
import { metricValue, startGitPull, tempDir } from './helpers.js';

t.test('--submodules: checked out with the tree, or left out with off', async (t) => {
  const dir = tempDir(t);
  const library = await makeRemote(t, { 'lib.txt': 'library v1\n' }, 'library', dir);
  const daemon = await startGitDaemon(t, dir);
  const app = await makeRemote(t, { 'app.txt': 'app\n' }, 'app', dir);
  await app.git('submodule', '--quiet', 'add', daemon.url('library.git'), 'vendor/library');
  const withModule = await app.commit({}, 'add the library');
  await app.push();

  const recursive = await startGitPull(t, ['--repo', daemon.url('app.git'), '--period', '1h']);
  await recursive.waitLive(withModule);
  t.equal(recursive.read('vendor/library/lib.txt'), 'library v1\n', 'the submodule is in the published tree');

  const off = await startGitPull(t, [
    '--repo',
    daemon.url('app.git'),
    '--period',
    '1h',
    '--submodules',
    'off',
  ]);
  await off.waitLive(withModule);
  t.same(readdirSync(join(off.root, off.link, 'vendor', 'library')), [], 'off: the submodule stays empty');
  t.equal(library.first.length, 40);
});

t.test('--sync-timeout: a remote that never answers is cut off, counted, and retried', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket); // accept, then say nothing
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => silent.close(resolve));
  });
  const { port } = silent.address() as { port: number };
  const app = await startGitPull(
    t,
    [
      '--repo',
      `git://127.0.0.1:${port}/app.git`,
      '--sync-timeout',
      '500ms',
      '--period',
      '100ms',
      '--max-failures',
      '-1',
    ],
    { ready: false },
  );
  const started = Date.now();
  const failure = await app.waitForLog((line) => line.code === 'PODKIT_ERR_SYNC_TIMEOUT', 30_000);
  t.ok(
    Date.now() - started < 10_000,
    'cut off after about 500 ms, not left hanging (margin for a loaded machine)',
  );
  t.match(
    String(failure.err),
    /git ls-remote was killed: the sync did not finish within 500 ms \(--sync-timeout\)/,
  );
  await app.waitForLog((line) => line.code === 'PODKIT_ERR_SYNC_TIMEOUT' && line !== failure, 30_000);
  t.ok(
    (metricValue(await app.metrics(), 'podkit_git_pull_syncs_total', { result: 'error' }) ?? 0) >= 2,
    'and retried',
  );
  t.equal(await app.readyStatus(), 503, 'not ready: nothing was ever published');
});

t.test('bad configuration: exit 2 with one line naming the option', async (t) => {
  const dir = tempDir(t);
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, 'secret\n');
  mkdirSync(join(dir, 'root', 'site'), { recursive: true });
  const root = ['--root', join(dir, 'root')];
  const cases: [string[], RegExp][] = [
    [[...root], /^podkit git-pull: missing --repo: set --repo or PODKIT_REPO/],
    [['--repo', 'not a url', ...root], /^podkit git-pull: invalid --repo "not a url": expected a git URL/],
    [
      ['--repo', '-oProxyCommand=x', ...root],
      /^podkit git-pull: invalid --repo "-oProxyCommand=x": expected a git URL/,
    ],
    [['--repo', 'ext::sh', ...root], /^podkit git-pull: invalid --repo "ext::sh": expected a git URL/],
    [
      ['--repo', 'https://host/app.git', '--ref=--upload-pack=x', ...root],
      /^podkit git-pull: invalid --ref "--upload-pack=x": expected a branch, tag/,
    ],
    [
      ['--repo', 'https://host/app.git', '--ref', 'main..x', ...root],
      /^podkit git-pull: invalid --ref "main\.\.x": expected a branch, tag/,
    ],
    [
      ['--repo', 'file:///srv/app.git', '--username', 'u', '--password-file', passwordFile, ...root],
      /^podkit git-pull: --password is for http\(s\) remotes; file:\/\/\/srv\/app\.git is file$/,
    ],
    [
      ['--repo', 'https://host/app.git', '--password-file', passwordFile, ...root],
      /^podkit git-pull: --username is needed with --password-file/,
    ],
    [
      ['--repo', 'https://host/app.git', '--signal', 'SIGHUP', ...root],
      /--signal needs --process-name or --pid-file/,
    ],
    [
      ['--repo', 'https://host/app.git', '--link', '.git', ...root],
      /--link ".git" must be a plain name under --root/,
    ],
    [
      ['--repo', 'https://host/app.git', '--period', 'soon', ...root],
      /invalid --period "soon": expected a duration/,
    ],
    [['--repo', 'https://host/site.git', ...root], /site exists and is not a symlink; it is left untouched$/],
    [['--repo', 'https://host/app.git', '--root', passwordFile], /--root .*password is not a directory$/],
    [
      ['--repo', 'https://host/app.git', '--webhook-url', 'ftp://hook:hunter2@host/x', ...root],
      /^podkit git-pull: invalid --webhook-url "ftp:\/\/hook:redacted@host\/x": expected a URL starting with http/,
    ],
    [
      ['--repo', 'ssh://git:hunter2@host/app.git', ...root],
      /^podkit git-pull: --repo has a password, which only http\(s\) remotes take/,
    ],
  ];
  for (const [args, expected] of cases) {
    const { code, stderr } = await runPodkit([
      'git-pull',
      ...args,
      '--termination-log',
      join(dir, 'termination'),
    ]);
    t.equal(code, 2, args.join(' '));
    t.match(stderr.trim().split('\n').at(-1), expected);
    t.notOk(stderr.includes('hunter2'), 'no password in the message');
  }
  t.same(readFileSync(join(dir, 'termination'), 'utf8').includes('hunter2'), false);
});
