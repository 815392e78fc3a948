/**
 * npm run bench -- metrics-exporter: what a translated scrape costs and what StatsD ingest takes.
 *
 * - Scrape latency: /metrics of an exporter whose JSON source maps 10,000 array elements to 10,000
 *   series (plus its own metrics), sequential scrapes after a warm-up, p50/p99 beside the floor of one
 *   GET of the same JSON document from the same server.
 * - StatsD ingest: a sender process floods the UDP port with datagrams of 10 lines (counters, gauges,
 *   timers over 1,000 names); packets and lines the exporter counted, divided by the CPU seconds it
 *   used (/proc), so a shared machine's load changes wall time but not the per-core figure much.
 *   statsd_exporter cannot be built here (no Go toolchain); the note quotes its published figures.
 * - Idle RSS and start -> ready with a JSON and a StatsD source, with each set of node flags.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlPlaneFlags, dataPlaneFlags } from '../components.js';
import { repoRoot } from '../scripts/repo-root.js';
import { formatFootprints, measureFootprint, treeCpuSeconds } from './lib/process-stats.js';

const seriesCount = 10_000;
const warmupScrapes = 20;
const measuredScrapes = 200;
const floodSeconds = 8;

const mapping = `modules:
  default:
    metrics:
    - name: bench_item_value
      type: object
      path: '{.items[*]}'
      valuetype: gauge
      help: Value per item.
      labels: { item: '{.name}', group: '{.group}', state: '{.state}' }
      values: { current: '{.value}' }
`;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function startExporter(
  flags: readonly string[],
  args: string[],
): { child: ChildProcess; admin: Promise<string>; statsd: Promise<string> } {
  const child = spawn(
    process.execPath,
    [...flags, join(repoRoot, 'dist/cli.js'), 'metrics-exporter', '--admin-address', '127.0.0.1:0', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let buffer = '';
  const waiters: Array<(line: Record<string, unknown>) => void> = [];
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    buffer += text;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        for (const waiter of waiters) waiter(parsed);
      } catch {}
    }
  });
  const address = (listener: string) =>
    new Promise<string>((resolve) =>
      waiters.push((line) => {
        if (line.msg === 'listening' && line.listener === listener) resolve(String(line.address));
      }),
    );
  return { child, admin: address('admin'), statsd: address('statsd') };
}

async function scrapeLatency(dir: string, flags: readonly string[]): Promise<string> {
  const items = Array.from({ length: seriesCount }, (_, i) => ({
    name: `item-${i}`,
    group: `group-${i % 20}`,
    state: i % 7 ? 'ok' : 'degraded',
    value: i * 1.5,
  }));
  const body = Buffer.from(JSON.stringify({ items }));
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`;
  const mappingFile = join(dir, 'mapping.yml');
  writeFileSync(mappingFile, mapping);
  const exporter = startExporter(flags, [
    '--json-url',
    url,
    '--json-mapping-file',
    mappingFile,
    '--max-series',
    '20000',
  ]);
  try {
    const admin = `http://${await exporter.admin}/metrics`;
    const time = async (target: string) => {
      const started = performance.now();
      const text = await (await fetch(target)).text();
      return { ms: performance.now() - started, bytes: text.length, text };
    };
    for (let i = 0; i < warmupScrapes; i++) await time(admin);
    const first = await time(admin);
    const series = first.text
      .split('\n')
      .filter((line) => line.startsWith('bench_item_value_current{')).length;
    const scrapes: number[] = [];
    const floor: number[] = [];
    const pid = exporter.child.pid as number;
    let cpu = 0;
    for (let i = 0; i < measuredScrapes; i++) {
      const cpuBefore = treeCpuSeconds(pid);
      scrapes.push((await time(admin)).ms);
      cpu += treeCpuSeconds(pid) - cpuBefore;
      floor.push((await time(url)).ms);
    }
    scrapes.sort((a, b) => a - b);
    floor.sort((a, b) => a - b);
    const row = (name: string, values: number[]) =>
      `| ${name} | ${percentile(values, 50).toFixed(1)} | ${percentile(values, 99).toFixed(1)} |`;
    return [
      `### /metrics with a JSON source of ${series} series (${(first.bytes / 1024).toFixed(0)} KiB of exposition, ${(body.length / 1024).toFixed(0)} KiB of JSON), ${measuredScrapes} scrapes`,
      '',
      '| what | p50 ms | p99 ms |',
      '| --- | ---: | ---: |',
      row('GET /metrics (fetch JSON, map, render)', scrapes),
      row('GET of the JSON alone (the floor)', floor),
      '',
      `The exporter used ${((cpu / measuredScrapes) * 1000).toFixed(1)} ms of CPU per scrape on average (/proc, its whole process).`,
    ].join('\n');
  } finally {
    exporter.child.kill('SIGKILL');
    server.close();
  }
}

/** A separate process sends datagrams of ten lines as fast as it can for `seconds`. */
const senderScript = `
const dgram = require('node:dgram');
const [host, port, seconds] = process.argv.slice(1);
const socket = dgram.createSocket('udp4');
const datagrams = [];
for (let d = 0; d < 100; d++) {
  const lines = [];
  for (let l = 0; l < 10; l++) {
    const n = (d * 10 + l) % 1000;
    lines.push(l % 3 === 0 ? 'app.requests.' + n + ':1|c' : l % 3 === 1 ? 'app.queue.' + n + ':' + l + '|g' : 'app.latency.' + (n % 100) + ':' + (l * 7) + '|ms|#route:/r' + (n % 10));
  }
  datagrams.push(Buffer.from(lines.join('\\n')));
}
const end = Date.now() + Number(seconds) * 1000;
let i = 0;
function burst() {
  if (Date.now() > end) { socket.close(); return; }
  let pending = 64;
  for (let k = 0; k < 64; k++) socket.send(datagrams[i++ % datagrams.length], Number(port), host, () => { if (--pending === 0) setImmediate(burst); });
}
burst();
`;

async function statsdIngest(flags: readonly string[], label: string): Promise<string> {
  const exporter = startExporter(flags, ['--statsd-listen', '127.0.0.1:0', '--max-series', '50000']);
  try {
    const admin = `http://${await exporter.admin}/metrics`;
    const [host, port] = (await exporter.statsd).split(':');
    const pid = exporter.child.pid as number;
    const counts = async () => {
      const text = await (await fetch(admin)).text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      return {
        packets: value('podkit_metrics_exporter_statsd_packets_total'),
        lines: value('podkit_metrics_exporter_statsd_lines_total\\{result="accepted"\\}'),
      };
    };
    const before = await counts();
    const cpuBefore = treeCpuSeconds(pid);
    const started = performance.now();
    const sender = spawn(
      process.execPath,
      ['-e', senderScript, host as string, port as string, String(floodSeconds)],
      {
        stdio: 'inherit',
      },
    );
    await new Promise((resolve) => sender.once('exit', resolve));
    await sleep(200);
    const cpu = treeCpuSeconds(pid) - cpuBefore;
    const wall = (performance.now() - started) / 1000;
    const after = await counts();
    const packets = after.packets - before.packets;
    const lines = after.lines - before.lines;
    return `| ${label} | ${packets.toLocaleString('en')} | ${(packets / wall).toFixed(0)} | ${cpu.toFixed(2)} | ${(packets / cpu).toFixed(0)} | ${(lines / cpu).toFixed(0)} |`;
  } finally {
    exporter.child.kill('SIGKILL');
  }
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-metrics-exporter-'));
  const sections = ['## metrics-exporter', ''];
  sections.push(await scrapeLatency(dir, dataPlaneFlags), '');
  sections.push(
    `### StatsD ingest over UDP (${floodSeconds} s flood, datagrams of 10 lines: counters, gauges, tagged timers over 1,000 names)`,
    '',
    '| node flags | packets counted | packets/s (wall) | exporter CPU s | packets per CPU second | lines per CPU second |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    await statsdIngest(dataPlaneFlags, `data plane (${dataPlaneFlags.join(' ')})`),
    await statsdIngest(controlPlaneFlags, 'control plane (no TurboFan, no Sparkplug)'),
    '',
  );
  const mappingFile = join(dir, 'mapping.yml');
  writeFileSync(mappingFile, mapping);
  const rows = [];
  for (const [flags, which] of [
    [dataPlaneFlags, 'data-plane flags'],
    [controlPlaneFlags, 'control-plane flags'],
  ] as const) {
    const adminAddress = `127.0.0.1:${await freePort()}`;
    rows.push(
      await measureFootprint(
        `metrics-exporter, JSON + StatsD sources, idle (${which})`,
        process.execPath,
        [
          ...flags,
          join(repoRoot, 'dist/cli.js'),
          'metrics-exporter',
          ...['--admin-address', adminAddress, '--statsd-listen', '127.0.0.1:0'],
          ...['--json-url', 'http://127.0.0.1:9/stats', '--json-mapping-file', mappingFile],
        ],
        () => `http://${adminAddress}/readyz`,
      ),
    );
  }
  sections.push('### Idle', '', formatFootprints(rows));
  return sections.join('\n');
}
