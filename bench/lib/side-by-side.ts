/**
 * Side-by-side comparison in one run: the anchor (nginx, haproxy, direct MySQL...) and podkit under the
 * same load, alternated so machine noise hits both alike, reported as medians and a ratio. References
 * (a bare Node proxy: the floor of Node's own stack) can run in the same rotation, so the ratios between
 * all of them come from the same minutes of the same machine.
 *
 * A contender that names its process also gets its CPU time per request: what the proxy itself spends
 * (user + system, workers included). On a machine shared with the load generator and the upstream, it
 * is CPU they lack, and once the machine is saturated it decides how fast everything goes.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSecondsDuring } from './process-stats.js';
import type { LoadResult } from './wrk.js';

export interface Contender {
  name: string;
  load(): Promise<LoadResult>;
  /** The process (with its workers) whose CPU time is charged to this contender's requests. */
  pid?: number;
}

export interface CompareOptions {
  rounds?: number;
  /** Between two loads, so the previous one's connections are closed and its sockets drained. */
  pauseMs?: number;
  /** More contenders in the same rotation, each reported against the anchor and podkit against it. */
  references?: Contender[];
}

interface Row {
  name: string;
  median: LoadResult;
  runs: LoadResult[];
  /** Median CPU microseconds per request, when the contender named its process. */
  cpuUsPerRequest: number | undefined;
}

export interface Comparison {
  title: string;
  /** The anchor, podkit, then the references. */
  rows: Row[];
  /** podkit's req/s divided by the anchor's: 1.0 is parity, above 1 is faster. */
  throughputRatio: number;
  p99Ratio: number;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The nearest-rank percentile of values sorted ascending (NaN for none). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function medianResult(runs: LoadResult[]): LoadResult {
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** One load, and the CPU the contender's process spent per request during it. */
async function measure(contender: Contender): Promise<{ result: LoadResult; cpuUs: number | undefined }> {
  const startedAt = performance.now();
  const { value: result, cpuSeconds } = await cpuSecondsDuring(contender.pid, () => contender.load());
  if (cpuSeconds === undefined) return { result, cpuUs: undefined };
  // wrk counts what it completed; for a load that does not, its rate over the time it ran.
  const requests = result.requests ?? (result.requestsPerSecond * (performance.now() - startedAt)) / 1000;
  return { result, cpuUs: (cpuSeconds * 1e6) / requests };
}

export async function compare(
  title: string,
  anchor: Contender,
  podkit: Contender,
  { rounds = 3, pauseMs = 500, references = [] }: CompareOptions = {},
): Promise<Comparison> {
  const contenders = [anchor, podkit, ...references];
  const runs = contenders.map(() => [] as LoadResult[]);
  const cpu = contenders.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    // Each round starts one contender further along, so warm-up and drift of the machine do not
    // always land on the same one (with as many rounds as contenders, each runs first once).
    for (let step = 0; step < contenders.length; step++) {
      const index = (step + round) % contenders.length;
      const { result, cpuUs } = await measure(contenders[index] as Contender);
      runs[index]?.push(result);
      if (cpuUs !== undefined) cpu[index]?.push(cpuUs);
      await sleep(pauseMs);
    }
  }
  const rows = contenders.map(({ name }, index) => {
    const all = runs[index] ?? [];
    const cpuRuns = cpu[index] ?? [];
    return {
      name,
      median: medianResult(all),
      runs: all,
      cpuUsPerRequest: cpuRuns.length ? median(cpuRuns) : undefined,
    };
  });
  const [a, p] = rows as [Row, Row];
  return {
    title,
    rows,
    throughputRatio: p.median.requestsPerSecond / a.median.requestsPerSecond,
    p99Ratio: p.median.p99Ms / a.median.p99Ms,
  };
}

export function formatComparison(c: Comparison): string {
  const [anchor, podkit, ...references] = c.rows as [Row, Row, ...Row[]];
  const withCpu = c.rows.some((row) => row.cpuUsPerRequest !== undefined);
  const rps = (row: Row) => row.median.requestsPerSecond;
  const lines = [
    `## ${c.title}`,
    '',
    `| | req/s | p50 ms | p99 ms | errors |${withCpu ? ' CPU µs/request |' : ''}`,
    `| --- | ---: | ---: | ---: | ---: |${withCpu ? ' ---: |' : ''}`,
    ...c.rows.map(
      ({ name, median: m, cpuUsPerRequest }) =>
        `| ${name} | ${m.requestsPerSecond.toFixed(0)} | ${m.p50Ms.toFixed(2)} | ${m.p99Ms.toFixed(2)} | ${m.errors} |` +
        (withCpu ? ` ${cpuUsPerRequest === undefined ? '' : cpuUsPerRequest.toFixed(0)} |` : ''),
    ),
    '',
    `throughput ratio (podkit / anchor): ${c.throughputRatio.toFixed(2)}   p99 ratio: ${c.p99Ratio.toFixed(2)}`,
    ...references.map(
      (reference) =>
        `${reference.name}: ${(rps(reference) / rps(anchor)).toFixed(2)}x the anchor, ` +
        `podkit ${(rps(podkit) / rps(reference)).toFixed(2)}x of it`,
    ),
    '',
  ];
  return lines.join('\n');
}
