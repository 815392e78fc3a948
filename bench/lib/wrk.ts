/**
 * HTTP load with wrk (Debian package): a C load generator, so the driver costs far less CPU than the
 * servers under test on a 2-core machine. Parses requests/s and latency percentiles from --latency.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Requests completed, when the load generator counts them (wrk does). */
  requests?: number;
}

export interface LoadOptions {
  url: string;
  durationSeconds?: number;
  connections?: number;
  threads?: number;
  /** Extra wrk flags, e.g. ['-H', 'Connection: close'] or a Lua script. */
  extra?: string[];
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

export function parseWrk(output: string): LoadResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  // wrk pads short values (`1.19s `), so trailing blanks are allowed.
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)[ \t]*$/m.exec(output);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)[ \t]*$/m.exec(output);
  if (!rps || !p50 || !p99) throw new Error(`unexpected wrk output:\n${output}`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const completed = /^\s*(\d+) requests in /m.exec(output);
  const errors =
    (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) +
    (non2xx ? Number(non2xx[1]) : 0);
  return {
    requestsPerSecond: Number(rps[1]),
    p50Ms: toMs(p50[1] as string, p50[2] as string),
    p99Ms: toMs(p99[1] as string, p99[2] as string),
    errors,
    ...(completed ? { requests: Number(completed[1]) } : {}),
  };
}

export async function wrk(options: LoadOptions): Promise<LoadResult> {
  const args = [
    '--latency',
    '-d',
    `${options.durationSeconds ?? 10}s`,
    '-c',
    String(options.connections ?? 32),
    '-t',
    String(options.threads ?? 1),
    ...(options.extra ?? []),
    options.url,
  ];
  const { stdout } = await exec('wrk', args, { maxBuffer: 4 * 1024 * 1024 });
  return parseWrk(stdout);
}
