/**
 * npm run bench -- mysql-broker: point-select queries/s over 32 connections with mariadb-slap (a C load
 * generator, Debian mariadb-client), against one private MariaDB: direct, through HAProxy in TCP mode
 * (the anchor for a TCP proxy), and through podkit mysql-broker -- in one run, rounds alternating the
 * order so machine noise hits all alike. A bare Node relay runs beside them: the most any Node data
 * path gets on this machine. Reports medians, each proxy's CPU time per query (user + system, workers
 * included; on 2 cores shared with mariadb-slap and MariaDB, what a proxy spends is what the others
 * lack), and the ratios podkit/HAProxy, podkit/direct, podkit/relay and relay/HAProxy.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { repoRoot } from '../scripts/repo-root.js';
import { type MariaDb, startMariaDb } from '../test/support/mariadb.js';
import { freePort } from '../test/support/ports.js';
import { podkitArgs } from './lib/podkit-command.js';
import { cpuSecondsDuring } from './lib/process-stats.js';
import { median } from './lib/side-by-side.js';

const exec = promisify(execFile);
const connections = 32;
const queries = 200_000;
const rounds = 3;
const relayName = 'reference: bare Node TCP relay, 1 process (no MySQL awareness)';

interface Target {
  name: string;
  port: number;
  /** The proxy process (with its workers) whose CPU time is charged per query. */
  pid?: number;
}

/** Queries per second of one mariadb-slap run. */
async function slap(db: MariaDb, port: number, schema: string): Promise<number> {
  const { stdout } = await exec(
    'mariadb-slap',
    [
      '--host=127.0.0.1',
      `--port=${port}`,
      `--user=${db.user}`,
      `--password=${db.password}`,
      `--create-schema=${schema}`,
      `--concurrency=${connections}`,
      `--number-of-queries=${queries}`,
      '--iterations=1',
      '--query=SELECT v FROM points WHERE id = 4242',
    ],
    { maxBuffer: 1024 * 1024 },
  );
  const seconds = /Average number of seconds to run all queries: ([\d.]+) seconds/.exec(stdout);
  if (!seconds) throw new Error(`unexpected mariadb-slap output:\n${stdout}`);
  return queries / Number(seconds[1]);
}

async function waitForPort(port: number, child: ChildProcess, name: string): Promise<void> {
  const net = await import('node:net');
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`${name} did not listen on ${port}`);
}

async function startHaproxy(dir: string, dbPort: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 4096',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 1h',
      '  timeout server 1h',
      'listen mysql',
      `  bind 127.0.0.1:${port}`,
      `  server db 127.0.0.1:${dbPort} check`,
      '',
    ].join('\n'),
  );
  const child = spawn('haproxy', ['-f', config, '-db'], { stdio: 'ignore' });
  await waitForPort(port, child, 'haproxy');
  return { port, child };
}

async function startPodkit(dbPort: number, workers: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...podkitArgs('mysql-broker'),
      '--listen',
      `127.0.0.1:${port}`,
      '--backends',
      `127.0.0.1:${dbPort}`,
      '--admin-address',
      '127.0.0.1:0',
      '--log-level',
      'warn',
      '--workers',
      String(workers),
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(port, child, 'podkit mysql-broker');
  return { port, child };
}

/** The floor of any Node data path, for reference (bench/lib/node-relay.ts). */
async function startNodeRelay(dbPort: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const script = join(repoRoot, 'dist/bench/lib/node-relay.js');
  const child = spawn(process.execPath, [script, String(port), String(dbPort)], { stdio: 'ignore' });
  await waitForPort(port, child, 'node relay');
  return { port, child };
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-mysql-'));
  const cleanups: (() => unknown)[] = [];
  try {
    const db = await startMariaDb(
      { teardown: (fn) => cleanups.push(fn) },
      { args: ['--max-connections=500'] },
    );
    const schema = await db.createDatabase('bench');
    await db.query(`CREATE TABLE \`${schema}\`.points (id INT PRIMARY KEY, v VARCHAR(64))`);
    await db.query(
      `INSERT INTO \`${schema}\`.points SELECT seq, SHA2(seq, 256) FROM \`${schema}\`.seq_1_to_10000`,
    );
    const haproxy = await startHaproxy(dir, db.port);
    cleanups.push(() => haproxy.child.kill());
    const podkit = await startPodkit(db.port, 1);
    cleanups.push(() => podkit.child.kill());
    const podkit2 = await startPodkit(db.port, 2);
    cleanups.push(() => podkit2.child.kill());
    const relay = await startNodeRelay(db.port);
    cleanups.push(() => relay.child.kill());

    // HAProxy runs one thread per CPU by default (2 here); podkit is shown with one and with two
    // data-path processes.
    const targets: Target[] = [
      { name: 'direct to MariaDB', port: db.port },
      { name: 'HAProxy 2.6 (mode tcp)', port: haproxy.port, pid: haproxy.child.pid },
      { name: 'podkit mysql-broker', port: podkit.port, pid: podkit.child.pid },
      { name: 'podkit mysql-broker --workers 2', port: podkit2.port, pid: podkit2.child.pid },
      { name: relayName, port: relay.port, pid: relay.child.pid },
    ];
    // Warm-up: JIT and connection paths.
    await slap(db, podkit.port, schema);
    await slap(db, podkit2.port, schema);
    await slap(db, relay.port, schema);
    const results = new Map<string, number[]>(targets.map((target) => [target.name, []]));
    const cpu = new Map<string, number[]>(targets.map((target) => [target.name, []]));
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so no contender always runs first (or last).
      const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
      for (const { name, port, pid } of order) {
        const { value, cpuSeconds } = await cpuSecondsDuring(pid, () => slap(db, port, schema));
        results.get(name)?.push(value);
        if (cpuSeconds !== undefined) cpu.get(name)?.push((cpuSeconds * 1e6) / queries);
        await sleep(500);
      }
    }
    const medians = Object.fromEntries([...results].map(([name, runs]) => [name, median(runs)]));
    const cpuPerQuery = (name: string) => {
      const runs = cpu.get(name) ?? [];
      return runs.length ? median(runs).toFixed(0) : '';
    };
    const direct = medians['direct to MariaDB'] as number;
    const anchor = medians['HAProxy 2.6 (mode tcp)'] as number;
    const ours = medians['podkit mysql-broker'] as number;
    const ours2 = medians['podkit mysql-broker --workers 2'] as number;
    const floor = medians[relayName] as number;
    return [
      `## mysql-broker: point selects over ${connections} connections (mariadb-slap, ${queries} queries, median of ${rounds})`,
      '',
      '| | queries/s | runs | vs direct | proxy CPU µs/query |',
      '| --- | ---: | --- | ---: | ---: |',
      ...[...results].map(
        ([name, runs]) =>
          `| ${name} | ${(medians[name] as number).toFixed(0)} | ${runs.map((r) => r.toFixed(0)).join(', ')} | ${((medians[name] as number) / direct).toFixed(2)}x | ${cpuPerQuery(name)} |`,
      ),
      '',
      `podkit / HAProxy: ${(ours / anchor).toFixed(2)}x (--workers 2: ${(ours2 / anchor).toFixed(2)}x)   ` +
        `podkit / direct: ${(ours / direct).toFixed(2)}x (--workers 2: ${(ours2 / direct).toFixed(2)}x)   ` +
        `HAProxy / direct: ${(anchor / direct).toFixed(2)}x   podkit / bare Node relay: ${(ours / floor).toFixed(2)}x   ` +
        `bare Node relay / HAProxy: ${(floor / anchor).toFixed(2)}x`,
      '',
    ].join('\n');
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
