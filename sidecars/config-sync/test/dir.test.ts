/**
 * The dir source end to end: a ConfigMap volume laid out and swapped the way the kubelet does it, and a
 * plain directory someone edits.
 */

import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import {
  KubeletVolume,
  readTarget,
  readyz,
  startSync,
  targetLayout,
  tempDir,
  waitForFile,
  waitForMetric,
} from './helpers.js';

const dirArgs = (source: string, target: string, ...more: string[]) => [
  '--source',
  'dir',
  '--source-dir',
  source,
  '--target-dir',
  target,
  '--debounce',
  '20ms',
  ...more,
];

t.test('a mounted ConfigMap volume: each ..data swap is published, keys that go away go away', async (t) => {
  const source = tempDir();
  const target = tempDir();
  const volume = new KubeletVolume(source);
  await volume.write({ 'app.conf': 'gen 1', 'extra.conf': 'gen 1' });
  const sync = await startSync(t, dirArgs(source, target));
  t.equal(readTarget(target, 'app.conf'), 'gen 1');
  t.equal(readTarget(target, 'extra.conf'), 'gen 1');

  await volume.write({ 'app.conf': 'gen 2', 'new.conf': 'gen 2' });
  await waitForFile(target, 'app.conf', 'gen 2');
  await waitForFile(target, 'new.conf', 'gen 2');
  // The new files are visible from the ..data swap on; old links go after it, before 'published'.
  const live = readlinkSync(join(target, '..data'));
  await sync.waitForLog((l) => l.msg === 'published' && l.dir === live);
  const layout = await targetLayout(target);
  t.same(
    Object.keys(layout).filter((name) => !name.startsWith('..')),
    ['app.conf', 'new.conf'],
    "extra.conf's link removed with it; the source's own ..data and links are not configuration",
  );
});

t.test(
  'a volume swapped 100 times in a row: every published version is one whole source version',
  async (t) => {
    const source = tempDir();
    const target = tempDir();
    const volume = new KubeletVolume(source);
    const generation = (n: number) => {
      const body = `generation ${n}\n`.repeat(2000);
      return { 'a.conf': body, 'b.conf': body, 'c.conf': body };
    };
    await volume.write(generation(1));
    const sync = await startSync(t, dirArgs(source, target, '--debounce', '0s', '--keep-versions', '100'));
    for (let n = 2; n <= 101; n++) await volume.write(generation(n));
    await waitForFile(target, 'a.conf', generation(101)['a.conf']);

    const versions = readdirSync(target).filter((name) => name.startsWith('..v'));
    const mixed: string[] = [];
    for (const version of versions) {
      const contents = ['a.conf', 'b.conf', 'c.conf'].map((key) =>
        readFileSync(join(target, version, key), 'utf8'),
      );
      if (new Set(contents).size !== 1 || !/^(generation \d+\n){2000}$/.test(contents[0] as string))
        mixed.push(version);
    }
    t.ok(versions.length >= 2, `${versions.length} versions published while the source was swapped`);
    t.same(mixed, [], 'no published version mixes two source versions or holds a partial file');
    const errors = sync.logs.filter((l) => l.code === 'PODKIT_ERR_SOURCE').map((l) => String(l.err));
    t.same(errors, [], 'a swap during a read means another read, not an error');
  },
);

t.test('a plain directory: edits are published, editor leftovers are not', async (t) => {
  const source = tempDir();
  const target = tempDir();
  writeFileSync(join(source, 'app.conf'), 'one');
  await startSync(t, dirArgs(source, target, '--poll-interval', '1s'));
  t.equal(readTarget(target, 'app.conf'), 'one');

  writeFileSync(join(source, '.app.conf.swp'), 'vim swap');
  writeFileSync(join(source, 'app.conf~'), 'backup');
  writeFileSync(join(source, 'app.conf.tmp'), 'two');
  renameSync(join(source, 'app.conf.tmp'), join(source, 'app.conf'));
  await waitForFile(target, 'app.conf', 'two');
  mkdirSync(join(source, 'conf.d'));
  writeFileSync(join(source, 'conf.d', 'extra.conf'), 'nested');
  await waitForFile(target, 'conf.d/extra.conf', 'nested');
  t.same(
    Object.keys(await targetLayout(target)).filter((name) => !name.startsWith('..')),
    ['app.conf', 'conf.d'],
  );
});

t.test('the source directory disappears: the last good stays and the pod stays ready', async (t) => {
  const parent = tempDir();
  const source = join(parent, 'config');
  mkdirSync(source);
  const target = tempDir();
  writeFileSync(join(source, 'app.conf'), 'good');
  const sync = await startSync(t, dirArgs(source, target, '--poll-interval', '300ms'));

  renameSync(source, join(parent, 'moved-away'));
  await waitForMetric(sync.adminUrl, 'podkit_config_sync_source_errors_total', '', (v) => v >= 2);
  t.equal(readTarget(target, 'app.conf'), 'good');
  const ready = await readyz(sync.adminUrl);
  t.equal(ready.status, 200);
  t.match(JSON.stringify(ready.body), /"source":"failing since .*: cannot read the source/);
  t.ok(
    sync.logs.some(
      (l) => l.code === 'PODKIT_ERR_SOURCE' && /cannot read --source-dir .*ENOENT/.test(String(l.err)),
    ),
    'the log has the reason',
  );

  mkdirSync(source);
  writeFileSync(join(source, 'app.conf'), 'back');
  await waitForFile(target, 'app.conf', 'back');
  await waitFor(async () => JSON.stringify((await readyz(sync.adminUrl)).body).includes('"source":"ok"'), {
    what: 'source ok again',
  });
});
