/**
 * The debounce in front of the pipeline: a burst gives one run with the last value, runs never overlap,
 * a stream that never pauses is still served, and close() waits for the run in progress.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import { Coalescer } from '../src/coalesce.js';

function recorder(workMs = 0) {
  const runs: number[] = [];
  let active = 0;
  let overlapped = false;
  const work = async (value: number) => {
    active += 1;
    overlapped ||= active > 1;
    await sleep(workMs);
    runs.push(value);
    active -= 1;
  };
  return { runs, work, overlapped: () => overlapped };
}

t.test('a burst becomes one run with the last value', async (t) => {
  const r = recorder();
  // A quiet period far longer than the burst, so a stall of the test process mid-burst stays inside it.
  const queue = new Coalescer(r.work, 1000);
  for (let i = 1; i <= 10; i++) {
    queue.offer(i);
    await sleep(5);
  }
  await waitFor(() => r.runs.length > 0, { what: 'a run' });
  t.same(r.runs, [10]);
  t.notOk(queue.waiting, 'nothing left to run: no second run can follow');
});

t.test('one run at a time; values offered during a run wait for it, the latest wins', async (t) => {
  const r = recorder(200);
  const queue = new Coalescer(r.work, 0);
  queue.offer(1);
  await waitFor(() => !queue.waiting, { what: 'the first run started' });
  queue.offer(2);
  queue.offer(3);
  await waitFor(() => r.runs.length === 2, { what: 'two runs' });
  t.same(r.runs, [1, 3]);
  t.notOk(r.overlapped(), 'never two runs at once');
});

t.test('a stream that never pauses is still served every few debounce periods', async (t) => {
  const r = recorder();
  // Quiet period 200 ms, never met by changes every 10 ms; capped at 2 periods.
  const queue = new Coalescer(r.work, 200, 2);
  const until = Date.now() + 1500;
  let i = 0;
  while (Date.now() < until) {
    queue.offer(++i);
    await sleep(10);
  }
  t.ok(r.runs.length >= 2, `${r.runs.length} runs during 1.5 s of changes every 10 ms`);
  await queue.close();
});

t.test('close drops what waits and waits for the run in progress', async (t) => {
  const r = recorder(200);
  const queue = new Coalescer(r.work, 0);
  queue.offer(1);
  await waitFor(() => !queue.waiting, { what: 'the run started' });
  queue.offer(2);
  await queue.close();
  t.same(r.runs, [1], 'the run in progress finished; the waiting value was dropped');
  queue.offer(3);
  t.notOk(queue.waiting, 'nothing waits to run after close');
  t.same(r.runs, [1]);
});
