import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { nodeFlagsFor } from '../../components.js';
import { distDir } from '../support/process.js';

const run = promisify(execFile);
const moduleUrl = pathToFileURL(join(distDir, 'lib/burst-garbage.js')).href;

interface Report {
  available: boolean;
  collections: number;
  majorGcs: number;
  /** Old space before the burst, when it ended, and after burstOver(). */
  oldSpaceStartMb: number;
  oldSpaceBeforeMb: number;
  oldSpaceAfterMb: number;
}

/**
 * Runs a burst in a fresh node with the given flags: `burstKb` of objects kept alive across several
 * scavenges (so they reach old space, as a sync's in-flight objects do), then dropped; then
 * burstOver() `calls` times at once. Reports the major GCs node saw after the burst and the old space.
 */
async function burst(flags: readonly string[], burstKb: number, calls = 1): Promise<Report> {
  const code = `
    import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
    import { getHeapSpaceStatistics } from 'node:v8';
    import { BurstGarbage } from ${JSON.stringify(moduleUrl)};
    const oldSpaceMb = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size / 1048576;
    // Major GCs are counted from the end of the burst on; the observer is set up before, so that its own
    // code is compiled (bytecode lives in old space) before the baseline is taken.
    let countFrom = Infinity;
    let majorGcs = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (entry.startTime >= countFrom && entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    });
    observer.observe({ entryTypes: ['gc'] });
    const burst = async (kb, rounds) => {
      let kept = [];
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < kb / 8; i++) kept.push({ round, i, text: 'x'.repeat(1000) + i }); // about 1 KB each
        await new Promise((resolve) => setTimeout(resolve, 5));
        for (let i = 0; i < 20000; i++) [i, { i }];
      }
      kept = undefined;
    };
    // A warm-up burst compiles the burst's code, then the heap settles: only the burst itself is measured.
    await burst(8, 2);
    globalThis.gc?.();
    const garbage = new BurstGarbage();
    const oldSpaceStartMb = oldSpaceMb();
    await burst(${burstKb}, 8);
    countFrom = performance.now();
    const oldSpaceBeforeMb = oldSpaceMb();
    await Promise.all(Array.from({ length: ${calls} }, () => garbage.burstOver()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    observer.disconnect();
    console.log(JSON.stringify({ available: BurstGarbage.available, collections: garbage.collections, majorGcs, oldSpaceStartMb, oldSpaceBeforeMb, oldSpaceAfterMb: oldSpaceMb() }));
  `;
  const { stdout } = await run(process.execPath, [...flags, '--input-type=module', '-e', code]);
  return JSON.parse(stdout) as Report;
}

const gitPullFlags = nodeFlagsFor('git-pull');

t.test('git-pull runs with gc() exposed: its syncs collect their own garbage', async (t) => {
  t.ok(gitPullFlags.includes('--expose-gc'), `git-pull's node flags: ${gitPullFlags.join(' ')}`);
});

t.test('after a burst that left megabytes in old space, one full GC returns them', async (t) => {
  const report = await burst(gitPullFlags, 8192);
  t.equal(report.available, true);
  t.equal(report.collections, 1);
  t.ok(report.majorGcs >= 1, `major GCs after the burst: ${report.majorGcs}`);
  const figures = `old space ${report.oldSpaceStartMb.toFixed(1)} MB before the burst, ${report.oldSpaceBeforeMb.toFixed(1)} after it, ${report.oldSpaceAfterMb.toFixed(1)} after burstOver()`;
  t.ok(report.oldSpaceBeforeMb - report.oldSpaceStartMb > 2, `the burst reached old space: ${figures}`);
  t.ok(report.oldSpaceAfterMb - report.oldSpaceStartMb < 1, `and left it: ${figures}`);
});

t.test('a small burst is not worth a full GC', async (t) => {
  const report = await burst(gitPullFlags, 64);
  const grew = (report.oldSpaceBeforeMb - report.oldSpaceStartMb).toFixed(2);
  t.equal(report.collections, 0, `old space grew ${grew} MB over the burst`);
  t.equal(report.majorGcs, 0);
});

t.test('bursts ending together ask for one collection', async (t) => {
  const report = await burst(gitPullFlags, 4096, 3);
  t.equal(report.collections, 1);
});

t.test('without --expose-gc it does nothing and still resolves', async (t) => {
  const report = await burst(['--max-semi-space-size=1'], 4096);
  t.equal(report.available, false);
  t.equal(report.collections, 0);
  t.equal(report.majorGcs, 0);
});
