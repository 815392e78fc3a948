/**
 * Side-by-side comparison in one run: the anchor (nginx, haproxy, direct MySQL...) and podkit under the
 * same load, alternated A/B/A/B so machine noise hits both alike, reported as medians and a ratio.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadResult } from './wrk.js';

export interface Contender {
  name: string;
  load(): Promise<LoadResult>;
}

export interface Comparison {
  title: string;
  rows: { name: string; median: LoadResult; runs: LoadResult[] }[];
  /** podkit's req/s divided by the anchor's: 1.0 is parity, above 1 is faster. */
  throughputRatio: number;
  p99Ratio: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function medianResult(runs: LoadResult[]): LoadResult {
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

export async function compare(
  title: string,
  anchor: Contender,
  podkit: Contender,
  rounds = 3,
): Promise<Comparison> {
  const runs = new Map<string, LoadResult[]>([
    [anchor.name, []],
    [podkit.name, []],
  ]);
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first so warm-up and thermal effects do not favour one side.
    const order = round % 2 === 0 ? [anchor, podkit] : [podkit, anchor];
    for (const contender of order) {
      runs.get(contender.name)?.push(await contender.load());
      await sleep(500);
    }
  }
  const rows = [anchor, podkit].map(({ name }) => {
    const all = runs.get(name) ?? [];
    return { name, median: medianResult(all), runs: all };
  });
  const [a, p] = rows as [(typeof rows)[0], (typeof rows)[0]];
  return {
    title,
    rows,
    throughputRatio: p.median.requestsPerSecond / a.median.requestsPerSecond,
    p99Ratio: p.median.p99Ms / a.median.p99Ms,
  };
}

export function formatComparison(c: Comparison): string {
  const lines = [
    `## ${c.title}`,
    '',
    '| | req/s | p50 ms | p99 ms | errors |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...c.rows.map(
      ({ name, median: m }) =>
        `| ${name} | ${m.requestsPerSecond.toFixed(0)} | ${m.p50Ms.toFixed(2)} | ${m.p99Ms.toFixed(2)} | ${m.errors} |`,
    ),
    '',
    `throughput ratio (podkit / anchor): ${c.throughputRatio.toFixed(2)}   p99 ratio: ${c.p99Ratio.toFixed(2)}`,
    '',
  ];
  return lines.join('\n');
}
