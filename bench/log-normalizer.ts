/**
 * npm run bench -- log-normalizer: MiB/s of input, JSON -> JSON and access logs (combined) among others,
 * beside `cat file > /dev/null` of the same file in the same run (the physical limit of reading it), and
 * the adapter's memory while it follows 20 files written at 10 MiB/s, then idle.
 *
 * Throughput: `podkit log-normalizer --input - < file > /dev/null` (the same pipeline as following a file)
 * run three times per input, median reported; "per core" is MiB per CPU second of the process (user +
 * system, from this process's reaped-children times), which holds on a busy machine where wall time
 * does not. The node flags are compared too: the data-plane flags (TurboFan kept) against none and
 * against the control-plane flags (no optimizing compiler).
 */

import { execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlPlaneFlags, dataPlaneFlags } from '../components.js';
import { repoRoot } from '../scripts/repo-root.js';
import { statFields } from '../test/support/proc-stat.js';
import { anonMb, idleSettleMs, rssMb } from './lib/process-stats.js';
import { median } from './lib/side-by-side.js';

/** Input sizes: the two the goals are about are large enough to measure past V8's warm-up. */
const headlineMiB = 192;
const otherMiB = 64;
const runs = 3;
const cli = join(repoRoot, 'dist/cli.js');
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds of this process's children that have ended (cutime + cstime). */
function childrenCpuSeconds(): number {
  const fields = statFields(readFileSync('/proc/self/stat', 'utf8'));
  return (Number(fields[13]) + Number(fields[14])) / clockTicks;
}

/** Runs a command with stdin from `input` and stdout to /dev/null; answers wall and CPU seconds. */
async function timed(command: string, args: string[], input: string): Promise<{ wall: number; cpu: number }> {
  const cpuBefore = childrenCpuSeconds();
  const started = performance.now();
  const child = spawn(command, args, {
    stdio: [openSync(input, 'r'), openSync('/dev/null', 'w'), 'inherit'],
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
  return { wall: (performance.now() - started) / 1000, cpu: childrenCpuSeconds() - cpuBefore };
}

interface Input {
  name: string;
  args: string[];
  line: (i: number) => string;
  mib?: number;
}

const agents = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'curl/8.5.0',
  'kube-probe/1.29',
];
const base = Date.parse('2024-05-01T10:00:00Z');
const pad = (n: number) => String(n).padStart(2, '0');

const inputs: Input[] = [
  {
    name: 'JSON (pino: epoch ms, numeric level)',
    args: [],
    mib: headlineMiB,
    line: (i) =>
      JSON.stringify({
        level: [30, 30, 30, 40, 50][i % 5],
        time: base + i * 3,
        pid: 7,
        hostname: 'web-1',
        req: { id: i, method: 'GET', url: `/api/items/${i % 5000}?page=${i % 7}` },
        res: { statusCode: [200, 200, 201, 404, 500][i % 5] },
        responseTime: i % 97,
        msg: 'request completed',
      }),
  },
  {
    name: 'JSON (ISO time, level names)',
    args: [],
    line: (i) =>
      JSON.stringify({
        time: new Date(base + i * 3).toISOString(),
        level: ['info', 'info', 'warn', 'error'][i % 4],
        msg: `order ${i} processed`,
        order: { id: i, items: i % 9, total: (i % 1000) / 10 },
        user: `user-${i % 300}`,
        durationMs: i % 250,
      }),
  },
  {
    name: 'nginx combined (auto)',
    args: [],
    mib: headlineMiB,
    line: (i) => {
      const t = new Date(base + Math.floor(i / 50) * 1000);
      const stamp = `${pad(t.getUTCDate())}/May/2024:${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} +0000`;
      return `10.${i % 256}.${(i >> 8) % 256}.${i % 7} - - [${stamp}] "GET /api/items/${i % 5000}?page=${i % 7} HTTP/1.1" ${[200, 200, 304, 404, 500][i % 5]} ${i % 20_000} "https://shop.example/list" "${agents[i % agents.length]}"`;
    },
  },
  {
    name: 'nginx combined (--format combined)',
    args: ['--format', 'combined'],
    line: (i) => (inputs[2] as Input).line(i),
  },
  {
    name: 'log4j',
    args: [],
    line: (i) => {
      const t = new Date(base + i * 3).toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
      return `${t} ${['INFO ', 'INFO ', 'WARN ', 'ERROR'][i % 4]} [http-nio-8080-exec-${i % 8}] com.example.shop.OrderService - Order ${i} placed for customer ${i % 300}`;
    },
  },
  {
    name: 'logfmt',
    args: [],
    line: (i) =>
      `time=${new Date(base + i * 3).toISOString()} level=${['info', 'warn'][i % 2]} msg="order placed" order=${i} customer=${i % 300} duration=${i % 250}ms`,
  },
];

/** Writes the input's size of its lines; answers the path and its size. */
function makeInput(dir: string, input: Input, index: number): { path: string; bytes: number } {
  const path = join(dir, `input-${index}.log`);
  writeFileSync(path, '');
  let bytes = 0;
  for (let i = 0; bytes < (input.mib ?? otherMiB) * 1024 * 1024; ) {
    const lines: string[] = [];
    for (let k = 0; k < 10_000; k++, i++) lines.push(input.line(i));
    const chunk = `${lines.join('\n')}\n`;
    appendFileSync(path, chunk);
    bytes += Buffer.byteLength(chunk);
  }
  return { path, bytes: statSync(path).size };
}

const mib = (bytes: number) => bytes / 1024 / 1024;

export async function throughput(dir: string): Promise<string> {
  const rows = [
    '| input | MiB | cat > /dev/null MiB/s | podkit MiB/s (wall) | podkit MiB per CPU second | of cat (wall) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const flagRows = ['| input | node flags | MiB per CPU second |', '| --- | --- | ---: |'];
  for (const [index, input] of inputs.entries()) {
    const { path, bytes } = makeInput(dir, input, index);
    const cat = median(await repeat(() => timed('cat', [], path), runs).then((r) => r.map((x) => x.wall)));
    const podkit = await repeat(
      () =>
        timed(
          process.execPath,
          [...dataPlaneFlags, cli, 'log-normalizer', '--input', '-', ...input.args],
          path,
        ),
      runs,
    );
    const wall = median(podkit.map((r) => r.wall));
    const cpu = median(podkit.map((r) => r.cpu));
    rows.push(
      `| ${input.name} | ${mib(bytes).toFixed(0)} | ${(mib(bytes) / cat).toFixed(0)} | ${(mib(bytes) / wall).toFixed(1)} | ${(mib(bytes) / cpu).toFixed(1)} | ${(cat / wall).toFixed(3)} |`,
    );
    if (index === 0 || index === 2) {
      for (const [flags, name] of [
        [dataPlaneFlags, 'data plane (chosen)'],
        [[], 'none'],
        [controlPlaneFlags, 'control plane'],
      ] as const) {
        const results = await repeat(
          () =>
            timed(process.execPath, [...flags, cli, 'log-normalizer', '--input', '-', ...input.args], path),
          runs,
        );
        flagRows.push(
          `| ${input.name} | ${name} | ${(mib(bytes) / median(results.map((r) => r.cpu))).toFixed(1)} |`,
        );
      }
    }
    rmSync(path);
  }
  return [
    `### Throughput (${headlineMiB} MiB for the first JSON and combined inputs, ${otherMiB} MiB for the others; median of ${runs})`,
    '',
    ...rows,
    '',
    '### Node flags',
    '',
    ...flagRows,
    '',
  ].join('\n');
}

async function repeat<T>(run: () => Promise<T>, times: number): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < times; i++) results.push(await run());
  return results;
}

/** Follows 20 files written at 10 MiB/s in all for `seconds`, then idle: RSS while busy and idle. */
export async function memory(dir: string): Promise<string> {
  const files = Array.from({ length: 20 }, (_, i) => join(dir, `tail-${i}.log`));
  for (const file of files) writeFileSync(file, '');
  const port = 19000 + Math.floor(Math.random() * 1000);
  const child = spawn(
    process.execPath,
    [
      ...dataPlaneFlags,
      cli,
      'log-normalizer',
      ...['--input', join(dir, 'tail-*.log'), '--admin-address', `127.0.0.1:${port}`, '--log-level', 'warn'],
    ],
    { stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit'] },
  );
  try {
    for (let i = 0; ; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (i > 300 || child.exitCode !== null) throw new Error('log-normalizer did not start');
      await sleep(50);
    }
    const pid = child.pid as number;
    await sleep(idleSettleMs);
    const idleBefore = rssMb(pid);
    const seconds = 20;
    const tickMs = 50;
    const bytesPerTick = (10 * 1024 * 1024 * tickMs) / 1000 / files.length;
    const line = (n: number) =>
      `{"time":"${new Date().toISOString()}","level":"info","msg":"event ${n}","pad":"${'p'.repeat(120)}"}\n`;
    const samples: number[] = [];
    let written = 0;
    let n = 0;
    const started = performance.now();
    for (let tick = 0; tick < (seconds * 1000) / tickMs; tick++) {
      for (const file of files) {
        let chunk = '';
        while (chunk.length < bytesPerTick) chunk += line(n++);
        appendFileSync(file, chunk);
        written += chunk.length;
      }
      if (tick % 10 === 0) samples.push(rssMb(pid));
      const due = started + (tick + 1) * tickMs;
      await sleep(Math.max(0, due - performance.now()));
    }
    const elapsed = (performance.now() - started) / 1000;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const lag = Number(/^podkit_log_normalizer_lag_bytes (\S+)$/m.exec(metrics)?.[1] ?? Number.NaN);
    await sleep(idleSettleMs);
    const idle = rssMb(pid);
    const idleAnon = anonMb(pid);
    const busy = samples.slice(Math.floor(samples.length / 4));
    return [
      '### Memory while following 20 files',
      '',
      `Written: ${mib(written).toFixed(0)} MiB in ${elapsed.toFixed(1)} s (${(mib(written) / elapsed).toFixed(1)} MiB/s), lag at the end ${lag} bytes.`,
      '',
      '| state | RSS MB |',
      '| --- | ---: |',
      `| idle ${idleSettleMs / 1000} s after start, 20 empty files followed | ${idleBefore.toFixed(1)} |`,
      `| writing, median of ${busy.length} samples after the first quarter | ${median(busy).toFixed(1)} |`,
      `| writing, peak | ${Math.max(...samples).toFixed(1)} |`,
      `| idle ${idleSettleMs / 1000} s after the writing stopped | ${idle.toFixed(1)} (private ${idleAnon.toFixed(1)}) |`,
      '',
    ].join('\n');
  } finally {
    child.kill('SIGKILL');
  }
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-log-normalizer-'));
  try {
    return [`## log-normalizer`, '', await throughput(dir), await memory(dir)].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
