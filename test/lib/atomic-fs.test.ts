import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  ensureDir,
  publishVersionedDir,
  swapSymlink,
  writeFileAtomic,
  writeFiles,
} from '../../lib/atomic-fs.js';

/**
 * A reader in another process, reading `path` as fast as it can until told to stop, reporting every
 * distinct content and every error it saw: what a container sharing the volume would see.
 */
function startReader(path: string) {
  const code = `
    const fs = require('node:fs');
    const seen = new Map(); const errors = new Map(); let reads = 0; let stop = false;
    process.stdin.on('data', () => { stop = true; });
    (function loop() {
      for (let i = 0; i < 50; i++) {
        try { const c = fs.readFileSync(${JSON.stringify(path)}, 'utf8'); seen.set(c.slice(0, 40) + '|' + c.length, (seen.get(c) || 0) + 1); }
        catch (e) { errors.set(e.code, (errors.get(e.code) || 0) + 1); }
        reads++;
      }
      if (reads === 50) process.stdout.write('ready\\n');
      if (stop) { process.stdout.write(JSON.stringify({ reads, seen: [...seen.keys()], errors: Object.fromEntries(errors) })); process.exit(0); }
      setImmediate(loop);
    })();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const ready = new Promise<void>((resolve) => {
    const check = () => (out.startsWith('ready\n') ? resolve() : child.stdout.once('data', check));
    check();
  });
  return {
    ready,
    async stop(): Promise<{ reads: number; seen: string[]; errors: Record<string, number> }> {
      child.stdin.write('stop');
      await new Promise((resolve) => child.once('exit', resolve));
      return JSON.parse(out.slice('ready\n'.length));
    },
  };
}

t.test('writeFileAtomic: a concurrent reader sees only whole versions', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-atomic-'));
  const file = join(dir, 'config.json');
  const versions = ['a', 'b'].map((letter) => letter.repeat(256 * 1024));
  await writeFileAtomic(file, versions[0] as string);
  const reader = startReader(file);
  await reader.ready;
  for (let i = 0; i < 200; i++) await writeFileAtomic(file, versions[i % 2] as string, { mode: 0o644 });
  const result = await reader.stop();
  t.ok(result.reads > 200, `reader read ${result.reads} times`);
  t.same(result.errors, {}, 'never missing');
  t.same(result.seen.sort(), versions.map((v) => `${v.slice(0, 40)}|${v.length}`).sort(), 'never partial');
  t.same(readdirSync(dir), ['config.json'], 'no temp files left');
});

t.test('swapSymlink: readers following the link never see a missing or mixed version', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-swap-'));
  for (const version of ['v1', 'v2']) {
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, 'app.conf'), `${version}\n`.repeat(10_000));
  }
  await swapSymlink(join(dir, 'current'), join(dir, 'v1'));
  t.equal(readlinkSync(join(dir, 'current')), 'v1', 'stored relative, so the volume can be mounted anywhere');
  const reader = startReader(join(dir, 'current', 'app.conf'));
  await reader.ready;
  for (let i = 0; i < 300; i++) await swapSymlink(join(dir, 'current'), i % 2 ? 'v1' : 'v2');
  const result = await reader.stop();
  t.same(result.errors, {});
  t.equal(result.seen.length, 2, 'only the two whole versions');
  t.same(readdirSync(dir).sort(), ['current', 'v1', 'v2'], 'no temporary links left');
});

t.test('publishVersionedDir: fill, swap, keep N, leave foreign files alone', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'podkit-publish-'));
  writeFileSync(join(root, 'not-ours.txt'), 'keep me');
  const options = { root, link: '..data', prefix: '..v-', keep: 2 };
  const published: string[] = [];
  for (let i = 1; i <= 5; i++) {
    published.push(
      await publishVersionedDir(options, String(i), (dir) =>
        writeFiles(dir, [
          ['app.conf', `generation ${i}\n`],
          ['nested/x.txt', 'x'],
        ]),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.equal(readFileSync(join(root, '..data', 'app.conf'), 'utf8'), 'generation 5\n');
  t.equal(readFileSync(join(root, '..data', 'nested', 'x.txt'), 'utf8'), 'x');
  t.same(
    readdirSync(root).sort(),
    ['..data', '..v-3', '..v-4', '..v-5', 'not-ours.txt'],
    'live + 2 previous kept',
  );

  await t.rejects(
    publishVersionedDir(options, '6', async () => {
      throw new Error('fill failed');
    }),
    /fill failed/,
  );
  t.equal(
    readFileSync(join(root, '..data', 'app.conf'), 'utf8'),
    'generation 5\n',
    'a failed fill publishes nothing',
  );
  t.notOk(readdirSync(root).includes('..v-6'), 'and leaves nothing behind');
});

t.test(
  'ensureDir: creates parents, accepts existing dirs, fails (never spins) where mkdir cannot work',
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'podkit-ensure-'));
    await ensureDir(join(root, 'a', 'b', 'c'));
    await ensureDir(join(root, 'a', 'b', 'c'));
    t.ok(readdirSync(join(root, 'a', 'b')).includes('c'));
    writeFileSync(join(root, 'file'), 'x');
    await t.rejects(ensureDir(join(root, 'file')), { code: 'EEXIST' }, 'a file in the way');
    await t.rejects(ensureDir(join(root, 'file', 'below')), { code: 'ENOTDIR' });
    // Node 20's recursive mkdir loops forever here: mkdir(2) answers ENOENT although /proc exists.
    await t.rejects(ensureDir('/proc/podkit-cannot-exist/x'), { code: 'ENOENT' });
  },
);
