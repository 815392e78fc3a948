/**
 * npm run bench -- db-health: probe latency at 50 probes/s (new connection per probe, like the kubelet)
 * while the checks run, podkit db-health beside a naive health endpoint that queries per probe
 * (mysqld_exporter, the anchor, is not installable here). The podkit checks include a slow one
 * (SELECT SLEEP(0.5)) to show probe latency does not depend on query time. Goal: p99 < 5 ms.
 *
 * 1. naive SELECT 1 per probe vs podkit (database healthy)
 * 2. naive "same checks per probe" vs podkit (database healthy)
 * 3. naive SELECT 1 per probe vs podkit with the database frozen (SIGSTOP)
 *
 * A bare node HTTP server that answers 200 at once is measured the same way first: the floor this
 * client, loopback and machine put under any probe endpoint, so the goal can be read against it.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../scripts/repo-root.js';
import { type MariaDb, startMariaDb } from '../test/support/mariadb.js';
import { freePort } from '../test/support/ports.js';
import { pacedLoad } from './lib/paced-http.js';
import { podkitArgs } from './lib/podkit-command.js';
import { compare, formatComparison } from './lib/side-by-side.js';
import type { LoadResult } from './lib/wrk.js';

const rate = 50;
const durationSeconds = 8;
const goalP99Ms = 5;

/** Spawns a server and resolves once `readyUrl` answers 2xx. */
async function startServer(args: string[], env: NodeJS.ProcessEnv, readyUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    const ok = await fetch(readyUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${args.join(' ')} not ready at ${readyUrl}`);
}

async function naiveProbe(
  db: MariaDb,
  mode: 'select1' | 'checks',
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const script = join(repoRoot, 'dist/bench/lib/naive-db-probe.js');
  const child = await startServer(
    [script, String(port), db.host, String(db.port), db.user, mode],
    { NAIVE_PASSWORD: db.password },
    url,
  );
  return { url, child };
}

/** p50/p99 of a node HTTP server with nothing to do, probed exactly like the others. */
async function measurementFloor(load: (url: string) => () => Promise<LoadResult>): Promise<string> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const script = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
  const floor = await startServer(['-e', script], {}, url);
  try {
    const runs = [await load(url)(), await load(url)(), await load(url)()];
    const median = (values: number[]) => values.sort((a, b) => a - b)[1] as number;
    return [
      `measurement floor: a bare node HTTP server answering 200, probed the same way (median of 3): p50 ${median(runs.map((r) => r.p50Ms)).toFixed(2)} ms, p99 ${median(runs.map((r) => r.p99Ms)).toFixed(2)} ms`,
      '',
    ].join('\n');
  } finally {
    floor.kill('SIGKILL');
  }
}

export async function run(): Promise<string> {
  const teardowns: (() => unknown)[] = [];
  const children: ChildProcess[] = [];
  try {
    const db = await startMariaDb({ teardown: (fn) => teardowns.push(fn) });
    const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-db-health-'));
    teardowns.push(() => rmSync(dir, { recursive: true, force: true }));
    const checks = join(dir, 'checks.yaml');
    writeFileSync(checks, '- name: slow\n  sql: SELECT SLEEP(0.5)\n  expect: { equals: 0 }\n');
    const adminPort = await freePort();
    const podkitUrl = `http://127.0.0.1:${adminPort}/readyz`;
    const podkit = await startServer(
      [
        ...podkitArgs('db-health'),
        '--mysql-url',
        db.url,
        '--checks-file',
        checks,
        '--require-writable',
        '--min-free-connections',
        '5',
        '--check-interval',
        '1s',
        '--check-timeout',
        '2s',
        '--admin-address',
        `127.0.0.1:${adminPort}`,
        '--log-level',
        'warn',
      ],
      { PODKIT_MYSQL_PASSWORD: db.password },
      podkitUrl,
    );
    children.push(podkit);
    const select1 = await naiveProbe(db, 'select1');
    const sameChecks = await naiveProbe(db, 'checks');
    children.push(select1.child, sameChecks.child);

    const load = (url: string, okStatuses?: number[]) => () =>
      pacedLoad({
        url,
        ratePerSecond: rate,
        durationSeconds,
        timeoutMs: 5000,
        ...(okStatuses ? { okStatuses } : {}),
      });
    const podkitSide = { name: 'podkit db-health /readyz', load: load(podkitUrl) };
    const sections: string[] = [await measurementFloor(load)];

    const healthy = await compare(
      `probe latency at ${rate}/s, database healthy: naive SELECT 1 per probe vs podkit (checks include SELECT SLEEP(0.5))`,
      { name: 'naive endpoint, SELECT 1 per probe', load: load(select1.url) },
      podkitSide,
    );
    sections.push(formatComparison(healthy));
    const same = await compare(
      `probe latency at ${rate}/s, database healthy: the same checks run per probe vs podkit`,
      { name: 'naive endpoint, same checks per probe', load: load(sameChecks.url) },
      podkitSide,
    );
    sections.push(formatComparison(same));

    await db.freeze();
    try {
      const frozen = await compare(
        `probe latency at ${rate}/s, database frozen (SIGSTOP): naive SELECT 1 per probe vs podkit (503 is an answer)`,
        { name: 'naive endpoint, SELECT 1 per probe', load: load(select1.url, [200, 503]) },
        { name: 'podkit db-health /readyz', load: load(podkitUrl, [200, 503]) },
        { rounds: 1 },
      );
      sections.push(formatComparison(frozen));
    } finally {
      db.thaw();
    }

    const podkitP99 = [healthy, same].map((c) => c.rows[1]?.median.p99Ms ?? Number.NaN);
    const worst = Math.max(...podkitP99);
    sections.push(
      `goal: podkit probe p99 < ${goalP99Ms} ms at ${rate} probes/s while checks run: ${worst < goalP99Ms ? 'met' : 'NOT met'} (worst median p99 ${worst.toFixed(2)} ms)\n`,
    );
    return sections.join('\n');
  } finally {
    for (const child of children) child.kill('SIGKILL');
    for (const fn of teardowns.reverse()) await fn();
  }
}
