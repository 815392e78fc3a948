/**
 * lib/workers with real processes: a fixture primary (test/fixtures/workers-primary.ts, run through the
 * real lifecycle) supervising fixture workers. The handshake, the node flags workers inherit, metrics
 * summed over workers (and kept when one dies), replacement with a growing backoff, an uncaught error,
 * the start-up timeout, the drain and its bound, and no worker outliving its primary.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { dataPlaneFlags } from '../../components.js';
import { httpRequest } from '../support/http.js';
import { children } from '../support/proc-fds.js';
import { alive, distDir, type LogLine, type Started, spawnNode, startComponent } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const fixture = join(distDir, 'test', 'fixtures', 'workers-primary.js');
const restarted = (l: LogLine) => l.msg === 'worker exited unexpectedly; starting a replacement';

function start(args: string[] = []): Promise<Started> {
  return startComponent(t, 'workers-fixture', args, { script: fixture, nodeArgs: [...dataPlaneFlags] });
}

async function serving(app: Started): Promise<number[]> {
  return JSON.parse((await httpRequest(`${app.adminUrl}/workers`)).body).serving;
}

async function post(app: Started, path: string): Promise<unknown> {
  return JSON.parse((await httpRequest(`${app.adminUrl}${path}`, { method: 'POST' })).body);
}

async function readiness(app: Started): Promise<{ status: number; workers: unknown }> {
  const response = await httpRequest(`${app.adminUrl}/readyz`);
  return { status: response.status, workers: JSON.parse(response.body).checks.workers };
}

async function metric(app: Started, name: string): Promise<number | undefined> {
  const text = (await httpRequest(`${app.adminUrl}/metrics`)).body;
  const lines = text.split('\n').filter((line) => line.startsWith(`${name} `));
  if (lines.length > 1) throw new Error(`${name} appears ${lines.length} times: one series expected`);
  return lines[0] === undefined ? undefined : Number(lines[0].slice(name.length + 1));
}

/** Waits until two workers serve and none of them is in `old`; returns the serving pids. */
async function replaced(app: Started, old: number[]): Promise<number[]> {
  await waitFor(
    async () => {
      const now = await serving(app);
      return now.length === 2 && !now.some((pid) => old.includes(pid) && !alive(pid));
    },
    { timeoutMs: 20_000, what: 'two workers serving again' },
  );
  return serving(app);
}

t.test('handshake: the workers serve, with the primary node flags, and readiness counts them', async (t) => {
  const app = await start(['--workers', '2']);
  const pids = await serving(app);
  t.equal(pids.length, 2, 'two workers serving');
  t.same([...children(app.pid)].sort(), [...pids].sort(), 'they are the children of the primary');
  for (const pid of pids) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const flag of dataPlaneFlags) t.ok(argv.includes(flag), `worker ${pid} runs with ${flag}`);
  }
  t.same(await readiness(app), { status: 200, workers: { ok: true, detail: '2 of 2 serving' } });
  const answered = (await post(app, '/work')) as { pids: number[] };
  t.same([...answered.pids].sort(), [...pids].sort(), 'a request reaches every worker, each answers');
});

t.test('metrics: one set of series, the sum over workers, and a dead worker’s counts stay', async (t) => {
  const app = await start();
  for (let i = 0; i < 3; i++) await post(app, '/work');
  t.equal(await metric(app, 'podkit_fixture_jobs_total'), 6, '3 jobs in each of 2 workers');
  t.equal(await metric(app, 'podkit_fixture_workers_up'), 2, 'gauges are summed too');

  const [victim, other] = (await serving(app)) as [number, number];
  process.kill(victim, 'SIGKILL');
  await app.waitForLog(restarted);
  t.equal(await metric(app, 'podkit_fixture_workers_up'), 1, 'the dead worker is up no more');
  t.equal(
    await metric(app, 'podkit_fixture_jobs_total'),
    6,
    'its jobs still count: the counter never goes back',
  );
  const now = await replaced(app, [victim]);
  t.ok(now.includes(other) && !now.includes(victim), 'a new worker took its place');
  await post(app, '/work');
  t.equal(await metric(app, 'podkit_fixture_jobs_total'), 8, 'and counts from there');
  t.equal(await metric(app, 'podkit_fixture_workers_up'), 2);
});

t.test('a dead worker is replaced with a backoff that grows while replacements fail', async (t) => {
  const app = await start(['--replacements-fail']);
  const [victim] = (await serving(app)) as [number];
  process.kill(victim, 'SIGKILL');

  await waitFor(() => app.logs.filter(restarted).length >= 3, { timeoutMs: 20_000, what: 'three exits' });
  const [first, second, third] = app.logs.filter(restarted) as [LogLine, LogLine, LogLine];
  t.match(first, { code: 'PODKIT_ERR_WORKER', pid: victim, signal: 'SIGKILL' }, 'the kill is logged');
  t.match(second, { code: 'PODKIT_ERR_WORKER', exitCode: 1 }, 'a failed replacement is logged');
  const delays = [first, second, third].map((line) => line.restartInMs as number);
  t.ok((delays[0] as number) <= 200, `first delay ${delays[0]} ms`);
  t.ok((delays[1] as number) >= 200 && (delays[1] as number) <= 400, `second delay ${delays[1]} ms`);
  t.ok((delays[2] as number) >= 400 && (delays[2] as number) <= 800, `third delay ${delays[2]} ms`);
  t.ok(
    app.logs.some((l) => l.msg === 'replacement worker failed' && /told to fail/.test(String(l.err))),
    "the replacement's own reason is logged",
  );
  t.same(
    await readiness(app),
    { status: 200, workers: { ok: true, detail: '1 of 2 serving' } },
    'still ready on the worker left, and readiness says how many serve',
  );

  await post(app, '/heal');
  const now = await replaced(app, [victim]);
  t.notOk(now.includes(victim), `replaced by a new pid (${now.join(', ')})`);
  t.same(await readiness(app), { status: 200, workers: { ok: true, detail: '2 of 2 serving' } });

  // A worker that became ready resets the backoff.
  const exitsBefore = app.logs.filter(restarted).length;
  process.kill(now[0] as number, 'SIGKILL');
  await waitFor(() => app.logs.filter(restarted).length > exitsBefore, { what: 'the next exit' });
  const next = app.logs.filter(restarted)[exitsBefore] as LogLine;
  t.ok((next.restartInMs as number) <= 200, `after a success the delay starts over (${next.restartInMs} ms)`);
});

t.test('an uncaught exception in a worker: logged as fatal, exit 1, replaced', async (t) => {
  const app = await start();
  const before = await serving(app);
  const { pid } = (await post(app, '/throw')) as { pid: number };
  const fatal = await app.waitForLog((l) => l.msg === 'worker failed' && l.level === 'fatal');
  t.match(fatal.err, /fixture worker threw/, 'the worker names the error');
  const exit = await app.waitForLog(restarted);
  t.match(exit, { pid, exitCode: 1, worker: fatal.worker }, 'the primary sees exit code 1 from that worker');
  const now = await replaced(app, before);
  t.notOk(now.includes(pid), 'replaced');
});

t.test('a worker that dies with sockets queued for it is noticed and replaced', async (t) => {
  // node never emits 'disconnect' for such a worker: the pool must not wait for it.
  const app = await start();
  const before = await serving(app);
  const { pid } = (await post(app, '/stall')) as { pid: number };
  process.kill(pid, 'SIGKILL');
  const exit = await app.waitForLog(restarted);
  t.match(exit, { pid, signal: 'SIGKILL' }, 'its exit is seen');
  const now = await replaced(app, before);
  t.notOk(now.includes(pid), 'replaced');
});

t.test('start-up: a worker that never becomes ready is killed and fails the start, none left', async (t) => {
  const app = spawnNode(t, fixture, [
    '--worker-start',
    'hang',
    '--startup-timeout',
    '1s',
    '--admin-address',
    '127.0.0.1:0',
  ]);
  await waitFor(() => children(app.pid).length === 2, { what: 'two workers forked' });
  const pids = children(app.pid);
  const startedAt = Date.now();
  t.equal((await app.exited).code, 1, 'exit 1');
  t.ok(Date.now() - startedAt < 10_000, 'soon after the 1 s start-up timeout');
  t.ok(
    app.logs.some((l) => l.level === 'fatal' && /did not become ready within 1000 ms/.test(String(l.msg))),
    'the reason is logged',
  );
  await waitFor(() => pids.every((pid) => !alive(pid)), { what: 'the hung workers gone' });
  t.pass('no worker is left behind');

  const failing = spawnNode(t, fixture, ['--worker-start', 'fail', '--admin-address', '127.0.0.1:0']);
  t.equal((await failing.exited).code, 1, 'a worker failing its start fails the start: exit 1');
  t.ok(
    failing.logs.some((l) => l.level === 'fatal' && /told to fail/.test(String(l.msg))),
    "with the worker's reason",
  );
});

t.test('drain: SIGTERM asks every worker to drain, waits for them, and exits 0', async (t) => {
  const app = await start(['--drain-ms', '500ms']);
  const pids = await serving(app);
  app.signal('SIGTERM');
  t.equal((await app.exited).code, 0, 'exit 0');
  const draining = app.logs.filter((l) => l.msg === 'worker draining');
  t.same(
    draining.map((l) => l.reason),
    ['fixture shutdown', 'fixture shutdown'],
    "both workers got the primary's drain",
  );
  const drained = app.logs.findIndex((l) => l.msg === 'worker drained');
  const lastDrained = app.logs.findLastIndex((l) => l.msg === 'worker drained');
  t.ok(drained >= 0 && lastDrained > drained, 'both finished their drain');
  t.ok(
    app.logs.findIndex((l) => l.msg === 'stopped') > lastDrained,
    'the primary stopped after the last worker',
  );
  t.same(pids.filter(alive), [], 'no worker left');
});

t.test('the drain is bounded: workers that do not finish are killed and the exit is 1', async (t) => {
  const app = await start(['--drain-hangs', '--drain-timeout', '1s', '--shutdown-timeout', '20s']);
  const pids = await serving(app);
  const signalledAt = Date.now();
  app.signal('SIGTERM');
  t.equal((await app.exited).code, 1, 'exit 1: work was cut short');
  t.ok(Date.now() - signalledAt < 10_000, 'at the drain bound, not the 20 s shutdown timeout');
  t.ok(
    app.logs.some(
      (l) => l.msg === 'close failed' && /2 worker\(s\) did not drain within 1000 ms/.test(String(l.err)),
    ),
    'the reason is logged',
  );
  t.same(pids.filter(alive), [], 'the workers were killed');
});

t.test('no worker outlives its primary', async (t) => {
  const killed = await start();
  const pids = await serving(killed);
  killed.proc.kill('SIGKILL');
  await killed.exited;
  await waitFor(() => pids.every((pid) => !alive(pid)), { what: 'the workers of a killed primary gone' });
  t.pass('SIGKILL of the primary: its workers end when its channel closes');

  // The lifecycle's deadline ends the primary while its workers are still draining.
  const late = await start(['--drain-hangs', '--drain-timeout', '60s', '--shutdown-timeout', '1s']);
  const latePids = await serving(late);
  late.signal('SIGTERM');
  t.equal((await late.exited).code, 1, 'exit 1 at the shutdown deadline');
  // Killed as the primary exits; init reaps them.
  await waitFor(() => latePids.every((pid) => !alive(pid)), { timeoutMs: 3000, what: 'its workers gone' });
  t.pass('and its workers are gone with it');
});
