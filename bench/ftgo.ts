/**
 * npm run bench -- ftgo [--seconds N] [--poll-ms N]: the FTGO example services started as
 * `npm run demo:ftgo` starts them (every service a process from dist/, one private MariaDB, one private
 * RabbitMQ), then orders placed through the API gateway by closed-loop clients at a few concurrency
 * levels: orders approved per second and the time from `POST /orders` to the first `GET /orders/:id` that
 * says APPROVED, beside the same clients against a bare node:http server that approves at once (the cost
 * of the client and HTTP alone). Then each process's resident memory, at the end of the load and once
 * idle, against the 16 GB the original needs. Any order rejected or failed fails the benchmark.
 */

import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type FtgoStack, ftgoStackAvailable, startFtgoStack } from '../scripts/demo/ftgo-stack.js';
import { repoRoot } from '../scripts/repo-root.js';
import { children, freePort, waitUntilServing } from './lib/children.js';
import { setUpOrders } from './lib/ftgo-orders.js';
import { type OrderLoopResult, orderLoop } from './lib/order-loop.js';
import { anonMb, idleSettleMs, rssMb, treeCpuSeconds } from './lib/process-stats.js';

const levels = [1, 8, 32];
/** Between two GETs of an order, by default: small beside the saga's time, so the latency it adds stays small. */
const defaultPollMs = '10';
const warmUpSeconds = 2;
/** What the original (Java/Spring, Kafka, Eventuate) needs for the same scenarios, per the issue. */
const originalGb = 16;

interface Level {
  ftgo: OrderLoopResult;
  ftgoCpuMsPerOrder: number;
  floor: OrderLoopResult;
}

export async function run(args: string[] = []): Promise<string> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '5' },
      'poll-ms': { type: 'string', default: defaultPollMs },
    },
  });
  const seconds = Number(values.seconds);
  const pollMs = Number(values['poll-ms']);
  if (!(seconds > 0)) throw new Error(`ftgo: --seconds must be a positive number, not ${values.seconds}`);
  if (!(pollMs >= 0)) throw new Error(`ftgo: --poll-ms must be a number, not ${values['poll-ms']}`);
  if (!ftgoStackAvailable())
    throw new Error('ftgo: needs mariadbd and rabbitmq-server (scripts/ensure-system.sh ftgo installs them)');
  const load = loadavg();
  const processes = children();
  let stack: FtgoStack | undefined;
  try {
    const floorPort = await freePort();
    const floor = processes.start(process.execPath, [
      join(repoRoot, 'dist/bench/lib/bare-order-api.js'),
      String(floorPort),
    ]);
    await waitUntilServing(`http://127.0.0.1:${floorPort}/orders/1`, floor, 'bare order API');
    stack = await startFtgoStack('bench ftgo', false);
    const orderFor = await setUpOrders(stack, Math.max(...levels));
    const pids = await stackPids(stack);

    const loop = (origin: string, clients: number, durationSeconds: number) =>
      orderLoop({ origin, clients, durationSeconds, pollMs, order: orderFor });
    const gateway = stack.url('api-gateway');
    const floorOrigin = `http://127.0.0.1:${floorPort}`;
    // Unreported: the first orders compile the code paths and fill the connection pools.
    const warmUps = [await loop(floorOrigin, 8, warmUpSeconds), await loop(gateway, 8, warmUpSeconds)];

    const results: Level[] = [];
    for (const clients of levels) {
      const floorResult = await loop(floorOrigin, clients, seconds);
      const cpuBefore = cpuSeconds(pids);
      const ftgo = await loop(gateway, clients, seconds);
      const ftgoCpuMsPerOrder = ((cpuSeconds(pids) - cpuBefore) * 1000) / ftgo.approved;
      results.push({ ftgo, ftgoCpuMsPerOrder, floor: floorResult });
    }
    // Right after the load, and once idle: V8 gives back the young generation it grew some seconds later.
    const busy = pids.map(({ pid }) => rssMb(pid));
    await sleep(idleSettleMs);
    const memory = pids.map(({ name, pid }, index) => ({
      name,
      busy: busy[index] as number,
      rss: rssMb(pid),
      anon: anonMb(pid),
    }));

    const report = [formatLevels(results, seconds, pollMs, load), formatMemory(memory)].join('\n');
    const all = [...warmUps, ...results.flatMap((level) => [level.floor, level.ftgo])];
    const bad = all.filter((result) => result.rejected + result.failed > 0);
    if (bad.length > 0)
      throw new Error(
        `${report}\nftgo: orders rejected or failed, so these figures do not count:\n${bad
          .flatMap((result) => result.failures)
          .map((why) => `  ${why}`)
          .join('\n')}`,
      );
    return report;
  } finally {
    if (stack && (await stack.stop()) !== 0) console.error('bench ftgo: a service did not exit 0 on SIGTERM');
    await processes.stopAll();
  }
}

/** Every process of the stack: each service, MariaDB, RabbitMQ's Erlang VM and its epmd. */
async function stackPids(stack: FtgoStack): Promise<{ name: string; pid: number }[]> {
  const [row] = await stack.db.query<{ pidFile: string }[]>('SELECT @@pid_file AS pidFile');
  const mariadb = Number(readFileSync(row?.pidFile as string, 'utf8').trim());
  const [vm, epmd] = await stack.broker.pids();
  if (!mariadb || !vm || !epmd) throw new Error('ftgo: MariaDB or RabbitMQ has no pid to measure');
  return [
    ...stack.processes.pids(),
    { name: 'MariaDB (mariadbd)', pid: mariadb },
    { name: 'RabbitMQ (Erlang VM)', pid: vm },
    { name: 'RabbitMQ (epmd)', pid: epmd },
  ];
}

function cpuSeconds(pids: { pid: number }[]): number {
  return pids.reduce((sum, { pid }) => sum + treeCpuSeconds(pid), 0);
}

function formatLevels(levels: Level[], seconds: number, pollMs: number, load: number[]): string {
  const ms = (value: number) => value.toFixed(1);
  const placed = levels.reduce((sum, { ftgo }) => sum + ftgo.approved + ftgo.rejected + ftgo.failed, 0);
  const rejected = levels.reduce((sum, { ftgo }) => sum + ftgo.rejected, 0);
  const failed = levels.reduce((sum, { ftgo }) => sum + ftgo.failed, 0);
  return [
    `## FTGO: orders placed and approved through the API gateway (${seconds} s per level)`,
    '',
    `Load average at start: ${load.map((value) => value.toFixed(2)).join(' / ')} (1, 5, 15 min) on ${availableParallelism()} cores.`,
    `Each client: POST /orders, then GET /orders/:id at once and every ${pollMs} ms until APPROVED, then the next order.`,
    '',
    '| clients | orders approved | orders/s | p50 ms | p99 ms | GETs per order | CPU ms per order (all FTGO processes) | floor orders/s | floor p50 ms | floor p99 ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...levels.map(
      ({ ftgo, ftgoCpuMsPerOrder, floor }) =>
        `| ${ftgo.clients} | ${ftgo.approved} | ${ftgo.ordersPerSecond.toFixed(1)} | ${ms(ftgo.p50Ms)} | ${ms(ftgo.p99Ms)} | ${ftgo.pollsPerOrder.toFixed(1)} | ${ftgoCpuMsPerOrder.toFixed(1)} | ${floor.ordersPerSecond.toFixed(0)} | ${ms(floor.p50Ms)} | ${ms(floor.p99Ms)} |`,
    ),
    '',
    ...levels.map(
      ({ ftgo, floor }) =>
        `${ftgo.clients} client${ftgo.clients === 1 ? '' : 's'}: FTGO ${(ftgo.ordersPerSecond / floor.ordersPerSecond).toFixed(4)}x the floor's orders/s (the floor ${(floor.ordersPerSecond / ftgo.ordersPerSecond).toFixed(0)}x FTGO's), p99 ${(ftgo.p99Ms / floor.p99Ms).toFixed(0)}x the floor's`,
    ),
    `rejected: ${rejected}, failed: ${failed} (of ${placed} orders placed through the gateway)`,
    `The floor: the same clients against a bare node:http server that answers POST with an id and GET with APPROVED at once (no saga, database or broker).`,
    `A latency is the saga's time rounded up to the next GET: the p99 cannot resolve below one ${pollMs} ms interval and a GET.`,
    '',
  ].join('\n');
}

function formatMemory(rows: { name: string; busy: number; rss: number; anon: number }[]): string {
  const total = (pick: (row: (typeof rows)[number]) => number) =>
    rows.reduce((sum, row) => sum + pick(row), 0);
  const [busy, rss, anon] = [total((row) => row.busy), total((row) => row.rss), total((row) => row.anon)];
  const idleS = idleSettleMs / 1000;
  return [
    '## FTGO: resident memory of each process (VmRSS) after the run',
    '',
    `| process | RSS MB at the end of the load | RSS MB ${idleS} s later | of which private (RssAnon) MB |`,
    '| --- | ---: | ---: | ---: |',
    ...rows.map(
      (row) => `| ${row.name} | ${row.busy.toFixed(1)} | ${row.rss.toFixed(1)} | ${row.anon.toFixed(1)} |`,
    ),
    `| total | ${busy.toFixed(1)} | ${rss.toFixed(1)} | ${anon.toFixed(1)} |`,
    '',
    `total RSS at the end of the load ${(busy / 1024).toFixed(2)} GB, ${idleS} s later ${(rss / 1024).toFixed(2)} GB, against the original's ${originalGb} GB for the same scenarios: ${((originalGb * 1024) / busy).toFixed(0)}x less`,
    "(RSS counts the node binary's file pages once per process; they are shared, so the machine holds less)",
    '',
  ].join('\n');
}
