/**
 * npm run bench -- config-sync: from a change in the source to SIGHUP delivered to the app, p50/p99 over
 * 200 changes, for the kubernetes source (the fake kube-apiserver, watched) and the dir source (a volume
 * swapped the way the kubelet swaps it), at the default --debounce and with none.
 *
 * The anchor cannot run here: it is the kubelet's own propagation of a ConfigMap into a mounted volume,
 * which needs a kubelet. Its delay is documented as the kubelet sync period (1 min by default) plus the
 * ConfigMap cache TTL, "up to a minute or more"; the table compares against that bound and the issue's
 * goal (p99 < 1 s).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeKube } from '../test/support/fake-kube/index.js';
import { KubeletVolume } from '../test/support/kubelet-volume.js';
import { podkitArgs } from './lib/podkit-command.js';

const changes = 200;
const kubeletBoundMs = 60_000;
const goalMs = 1000;

/** A stand-in app that notes the wall-clock time of every SIGHUP it receives. */
function startApp(dir: string): {
  child: ChildProcess;
  pidFile: string;
  nextHup(timeoutMs: number): Promise<number>;
} {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "process.on('SIGHUP', () => console.log(performance.timeOrigin + performance.now())); setInterval(() => {}, 1 << 30);",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const pidFile = join(dir, 'app.pid');
  writeFileSync(pidFile, `${child.pid}\n`);
  const arrivals: number[] = [];
  let waiter: (() => void) | undefined;
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    arrivals.push(Number(line));
    waiter?.();
  });
  return {
    child,
    pidFile,
    async nextHup(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (arrivals.length === 0) {
        if (Date.now() > deadline) throw new Error('no SIGHUP arrived');
        await new Promise<void>((resolve) => {
          waiter = resolve;
          setTimeout(resolve, 50);
        });
      }
      return arrivals.shift() as number;
    },
  };
}

async function startSync(args: string[]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [...podkitArgs('config-sync'), '--admin-address', '127.0.0.1:0', '--log-level', 'warn', ...args],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return child;
}

const now = () => performance.timeOrigin + performance.now();

interface Row {
  source: string;
  debounce: string;
  latencies: number[];
}

/** Runs `change(i)` 200 times, each time waiting for the app's SIGHUP; returns change -> SIGHUP in ms. */
async function measure(
  app: ReturnType<typeof startApp>,
  change: (i: number) => Promise<void> | void,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 1; i <= changes; i++) {
    const started = now();
    await change(i);
    latencies.push((await app.nextHup(30_000)) - started);
    await sleep(20);
  }
  return latencies;
}

async function kubernetesRun(debounce: string): Promise<Row> {
  const cleanups: (() => unknown)[] = [];
  const kube = await startFakeKube({ teardown: (fn) => cleanups.push(fn) });
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-config-sync-'));
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'app' };
  kube.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app', namespace: 'default' },
    data: { 'app.conf': 'v0' },
  });
  const app = startApp(dir);
  const sync = await startSync([
    '--source',
    'kubernetes',
    '--kubeconfig',
    kube.kubeconfigPath,
    '--configmap',
    'app',
    '--target-dir',
    join(dir, 'config'),
    '--pid-file',
    app.pidFile,
    '--debounce',
    debounce,
  ]);
  try {
    await app.nextHup(30_000); // the first publish
    const latencies = await measure(app, (i) => {
      kube.patch(ref, { data: { 'app.conf': `v${i}` } });
    });
    return { source: 'kubernetes (watch)', debounce, latencies };
  } finally {
    sync.kill('SIGTERM');
    app.child.kill();
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

async function dirRun(debounce: string): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-config-sync-'));
  const source = join(dir, 'volume');
  mkdirSync(source);
  const volume = new KubeletVolume(source);
  await volume.write({ 'app.conf': 'v0' });
  const app = startApp(dir);
  const sync = await startSync([
    '--source',
    'dir',
    '--source-dir',
    source,
    '--target-dir',
    join(dir, 'config'),
    '--pid-file',
    app.pidFile,
    '--debounce',
    debounce,
  ]);
  try {
    await app.nextHup(30_000);
    const latencies = await measure(app, (i) => volume.write({ 'app.conf': `v${i}` }));
    return { source: 'dir (kubelet ..data swap)', debounce, latencies };
  } finally {
    sync.kill('SIGTERM');
    app.child.kill();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function format(rows: Row[]): string {
  const lines = [
    `## config-sync: change in the source -> SIGHUP delivered (${changes} changes each)`,
    '',
    '| source | --debounce | p50 ms | p99 ms | max ms | p99 vs goal (1 s) | p99 vs kubelet bound (60 s) |',
    '| --- | --- | ---: | ---: | ---: | --- | ---: |',
    `| anchor: kubelet ConfigMap volume propagation (needs a kubelet; not runnable here) | | | up to ${kubeletBoundMs} + cache TTL | | | 1 |`,
  ];
  for (const { source, debounce, latencies } of rows) {
    const sorted = [...latencies].sort((a, b) => a - b);
    const p99 = percentile(sorted, 99);
    lines.push(
      `| ${source} | ${debounce} | ${percentile(sorted, 50).toFixed(1)} | ${p99.toFixed(1)} | ${(sorted.at(-1) as number).toFixed(1)} | ${p99 < goalMs ? 'met' : 'missed'} | ${(kubeletBoundMs / p99).toFixed(0)}x faster |`,
    );
  }
  lines.push(
    '',
    'The kubelet bound is its default sync period alone; real propagation adds the cache TTL on top.',
    '',
  );
  return lines.join('\n');
}

export async function run(): Promise<string> {
  const rows: Row[] = [];
  // The default debounce first (what users get), then none (the floor of the pipeline itself).
  for (const debounce of ['100ms', '0s']) {
    rows.push(await kubernetesRun(debounce));
    rows.push(await dirRun(debounce));
  }
  return format(rows);
}
