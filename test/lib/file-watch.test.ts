import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { swapSymlink } from '../../lib/atomic-fs.js';
import { watchFiles } from '../../lib/file-watch.js';
import { distDir } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/** The environment without tap's loaders: the child runs built JavaScript. */
function withoutLoaders(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _drop, ...env } = process.env;
  return env;
}

t.test('a kubelet-style ..data swap is noticed once, debounced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-watch-'));
  for (const version of ['..v1', '..v2']) {
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, 'tls.crt'), version);
  }
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  const calls: string[] = [];
  const watch = await watchFiles([join(dir, 'tls.crt')], (reason) => calls.push(reason), { debounceMs: 300 });
  t.teardown(() => watch.close());

  // The swap is two steps (symlink, rename); the debounce must span both on a busy machine too.
  await swapSymlink(join(dir, '..data'), '..v2');
  await waitFor(() => calls.length > 0, { what: 'a change callback' });
  // Proving there is no second callback: one would come a debounce after the swap's last event.
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.same(calls, ['event'], 'one callback for the whole swap');
});

t.test('a plain rewrite is noticed, and polling reports without events', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-watch-'));
  const file = join(dir, 'app.conf');
  writeFileSync(file, 'a');
  const calls: string[] = [];
  const watch = await watchFiles([file], (reason) => calls.push(reason), {
    debounceMs: 20,
    pollIntervalMs: 150,
  });
  t.teardown(() => watch.close());
  writeFileSync(file, 'b');
  await waitFor(() => calls.includes('event'), { what: 'event' });
  await waitFor(() => calls.includes('poll'), { what: 'poll' });
  t.pass('both seen');
});

t.test('the last write of a quick burst is noticed without waiting for a poll', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-watch-'));
  const file = join(dir, 'app.conf');
  writeFileSync(file, 'start');
  const calls: number[] = [];
  const watch = await watchFiles([file], () => calls.push(Date.now()), { debounceMs: 10, pollIntervalMs: 0 });
  t.teardown(() => watch.close());
  // chokidar alone drops 'change' events within 50 ms of the previous one: rewrites 20 ms apart lose the
  // last one about half the time, so five bursts in a row would all but never pass without the fix.
  for (let round = 0; round < 5; round++) {
    let lastWrite = 0;
    for (let i = 0; i < 6; i++) {
      lastWrite = Date.now();
      writeFileSync(file, `round ${round} write ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(() => calls.some((at) => at >= lastWrite), {
      timeoutMs: 3000,
      what: `a callback after round ${round}`,
    });
  }
  t.pass('every burst ended with a callback after its last write');
});

t.test(
  'polling catches a change inotify cannot see: a volume mounted over the watched directory',
  async (t) => {
    // inotify watches the directory's inode; a mount over its path sends every later write elsewhere.
    // The watcher runs in a mount namespace of its own (unshare), so the mount touches nothing outside.
    const dir = mkdtempSync(join(tmpdir(), 'podkit-watch-'));
    const volume = mkdtempSync(join(tmpdir(), 'podkit-watch-volume-'));
    writeFileSync(join(dir, 'app.conf'), 'before');
    writeFileSync(join(volume, 'app.conf'), 'before');
    const script = `
    import { execFileSync } from 'node:child_process';
    import { readFileSync, writeFileSync } from 'node:fs';
    import { watchFiles } from ${JSON.stringify(join(distDir, 'lib', 'file-watch.js'))};
    const [dir, volume] = process.argv.slice(1);
    const file = dir + '/app.conf';
    let mounted = false;
    const watch = await watchFiles([file], (reason) => {
      const content = readFileSync(file, 'utf8');
      console.log(JSON.stringify({ reason, content, mounted }));
      if (content === 'after') watch.close().then(() => process.exit(0));
    }, { debounceMs: 20, pollIntervalMs: 500 });
    execFileSync('mount', ['--bind', volume, dir]);
    mounted = true;
    writeFileSync(file, 'after');
  `;
    const unshare = process.getuid?.() === 0 ? ['--mount'] : ['--mount', '--map-root-user'];
    const { stdout } = await run(
      'unshare',
      [
        ...unshare,
        '--propagation',
        'private',
        process.execPath,
        '--input-type=module',
        '-e',
        script,
        dir,
        volume,
      ],
      { timeout: 30_000, env: withoutLoaders() },
    );
    const calls = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { reason: string; content: string; mounted: boolean });
    const seen = calls.find((call) => call.content === 'after');
    t.equal(seen?.reason, 'poll', 'the poll read the new content');
    t.same(
      calls.filter((call) => call.reason === 'event' && call.mounted),
      [],
      'inotify reported nothing after the mount: only the poll could catch the change',
    );
  },
);
