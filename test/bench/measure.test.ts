/**
 * The measuring parts of the benchmarks, whose figures the issue notes report: the CPU charged to a
 * proxy and its workers, and the side-by-side rotation with its ratios.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import t from 'tap';
import { treeCpuSeconds } from '../../bench/lib/process-stats.js';
import { compare, formatComparison } from '../../bench/lib/side-by-side.js';
import type { LoadResult } from '../../bench/lib/wrk.js';

t.test('treeCpuSeconds charges a process with the CPU its workers burn', async (t) => {
  // An idle parent whose worker, once started and told "go", spins for 600 ms of CPU and says so.
  const parent = spawn(
    process.execPath,
    [
      '-e',
      `const { spawn } = require('node:child_process');
       const spin = 'process.stdin.once("data", () => { const from = process.cpuUsage().user; while (process.cpuUsage().user - from < 600000); console.log("spun"); }); console.log("ready")';
       const worker = spawn(process.execPath, ['-e', spin], { stdio: ['pipe', 'pipe', 'ignore'] });
       console.log(worker.pid);
       process.stdin.pipe(worker.stdin);
       worker.stdout.pipe(process.stdout);`,
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  const lines = createInterface({ input: parent.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const workerPid = Number((await lines.next()).value);
  const parentPid = parent.pid as number;
  t.teardown(() => {
    for (const pid of [workerPid, parentPid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  t.equal((await lines.next()).value, 'ready');
  // Both idle until "go": the baselines hold still, and the parent's figure then grows by the spin.
  const treeBefore = treeCpuSeconds(parentPid);
  const workerBefore = treeCpuSeconds(workerPid);
  parent.stdin?.write('go\n');
  t.equal((await lines.next()).value, 'spun');
  // The worker first: a tick it still spends in between lands in the parent's later figure too.
  const workerSpent = treeCpuSeconds(workerPid) - workerBefore;
  const treeSpent = treeCpuSeconds(parentPid) - treeBefore;
  t.ok(workerSpent >= 0.5, `the worker spun (${workerSpent.toFixed(2)} s)`);
  // Within a thousandth of the 10 ms tick: the two differences are rounded separately.
  t.ok(treeSpent >= workerSpent - 0.001, `its CPU is charged to the parent (${treeSpent.toFixed(2)} s)`);
  t.ok(treeSpent - workerSpent < 0.2, `and nothing else (${(treeSpent - workerSpent).toFixed(2)} s)`);

  parent.kill('SIGKILL');
  await once(parent, 'exit');
  t.equal(treeCpuSeconds(parentPid), 0, 'a process that is gone costs nothing (no throw)');
});

t.test('compare rotates every contender through each round and rates the references', async (t) => {
  const order: string[] = [];
  const contender = (name: string, requestsPerSecond: number) => ({
    name,
    async load(): Promise<LoadResult> {
      order.push(name);
      return { requestsPerSecond, p50Ms: 1, p99Ms: requestsPerSecond === 100 ? 2 : 3, errors: 0 };
    },
  });
  const result = await compare('three', contender('anchor', 100), contender('podkit', 80), {
    rounds: 3,
    pauseMs: 0,
    references: [contender('bare', 90)],
  });
  t.same(
    order,
    ['anchor', 'podkit', 'bare', 'podkit', 'bare', 'anchor', 'bare', 'anchor', 'podkit'],
    'each round starts one further along',
  );
  t.equal(result.throughputRatio, 0.8);
  t.equal(result.p99Ratio, 1.5);
  const text = formatComparison(result);
  t.match(text, /bare: 0\.90x the anchor, podkit 0\.89x of it/);
  t.notMatch(text, /CPU/, 'no CPU column when no contender named its process');
});
