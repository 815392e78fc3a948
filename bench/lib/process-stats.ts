/**
 * What a process costs, read from /proc (what the kernel charges, not what V8 reports).
 *
 * CPU: seconds used by a process and its workers (treeCpuSeconds), which the side-by-side benchmarks
 * divide by the requests served.
 *
 * Start-up and footprint: time from spawn to its ready URL answering 2xx, and resident memory after it
 * has sat idle for 10 s. Not sooner: V8 gives back the young generation it grew while starting about
 * 8 s after the last burst of allocation, and a pod's memory is what it holds from then on.
 *
 * RSS is reported whole and split: the file-backed part is mostly the node binary's own pages (about
 * 34 MB for a bare `node`), shared through the page cache by every Node process and every container
 * of the same image layer; the anonymous part (heap, code, buffers) is what each process adds.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { statFields } from '../../test/support/proc-stat.js';

/** How long a process sits idle before its RSS is read (see above). */
export const idleSettleMs = 10_000;

export interface Footprint {
  name: string;
  startToReadyMs: number;
  idleRssMb: number;
  /** The private part of the RSS (RssAnon): heap, compiled code, buffers. */
  idleAnonMb: number;
}

function statusMb(pid: number, field: 'VmRSS' | 'RssAnon'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

export function rssMb(pid: number): number {
  return statusMb(pid, 'VmRSS');
}

export function anonMb(pid: number): number {
  return statusMb(pid, 'RssAnon');
}

export async function measureFootprint(
  name: string,
  command: string,
  args: string[],
  readyUrl: () => string | Promise<string>,
  idleMs = idleSettleMs,
): Promise<Footprint> {
  const started = performance.now();
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited during start-up:\n${output}`);
      const url = await readyUrl();
      const ok =
        url &&
        (await fetch(url).then(
          (r) => r.ok,
          () => false,
        ));
      if (ok) break;
      if (performance.now() - started > 30_000) throw new Error(`${name} not ready within 30 s:\n${output}`);
      await sleep(5);
    }
    const startToReadyMs = performance.now() - started;
    await sleep(idleMs);
    const pid = child.pid as number;
    return { name, startToReadyMs, idleRssMb: rssMb(pid), idleAnonMb: anonMb(pid) };
  } finally {
    child.kill('SIGKILL');
  }
}

export function formatFootprints(rows: Footprint[]): string {
  return [
    `| process | start -> ready ms | idle RSS MB (${idleSettleMs / 1000} s after ready) | of which private (RssAnon) MB |`,
    '| --- | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.startToReadyMs.toFixed(0)} | ${r.idleRssMb.toFixed(1)} | ${r.idleAnonMb.toFixed(1)} |`,
    ),
    '',
  ].join('\n');
}

/** Clock ticks per second, the unit of the CPU times in /proc/<pid>/stat (100 on every Linux here). */
const clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * CPU seconds (user + system) a process and its descendants have used so far: a proxy's worker
 * processes (nginx's, podkit's --workers) are children of the process that was started. Live children
 * are found through /proc/<pid>/task/<tid>/children; those already gone and reaped are in the parent's
 * own cutime/cstime, so none is counted twice and none is lost.
 */
export function treeCpuSeconds(pid: number): number {
  return treeTicks(pid) / clockTicksPerSecond;
}

/** Runs `action` and tells the CPU seconds `pid` and its workers spent meanwhile (none without a pid). */
export async function cpuSecondsDuring<T>(
  pid: number | undefined,
  action: () => Promise<T>,
): Promise<{ value: T; cpuSeconds: number | undefined }> {
  if (pid === undefined) return { value: await action(), cpuSeconds: undefined };
  const before = treeCpuSeconds(pid);
  const value = await action();
  return { value, cpuSeconds: treeCpuSeconds(pid) - before };
}

function treeTicks(pid: number): number {
  let ticks = 0;
  try {
    const fields = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    // utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after the name.
    ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
  } catch {
    return 0; // gone
  }
  for (const child of childPids(pid)) ticks += treeTicks(child);
  return ticks;
}

/** Without it (a kernel built without CONFIG_PROC_CHILDREN) workers would silently cost nothing. */
const childrenListed = existsSync(`/proc/self/task/${process.pid}/children`);

function childPids(pid: number): number[] {
  if (!childrenListed) throw new Error('this kernel does not list /proc/<pid>/task/<tid>/children');
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  return tasks.flatMap((task) => {
    try {
      return readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
        .split(' ')
        .filter(Boolean)
        .map(Number);
    } catch {
      return []; // the thread ended in between
    }
  });
}
