/**
 * What the experiment page charts: per version (the primary, each variant, the mirror), requests per
 * second, the share of 5xx answers and latency percentiles, sampled once a second into a ring of the
 * last minutes. The counts are taken where the proxy core counts its metrics (a wrapper around the
 * version's handles: an increment and a bucket search per request), so the page and /metrics agree.
 */

import type { StatusClass, UpstreamMetrics } from '../../../lib/http-proxy/metrics.js';

/** Latency bucket upper bounds in seconds: 0.1 ms to 60 s, about 12% apart, for percentiles a person can trust. */
const bounds: number[] = [];
for (let bound = 0.0001; bound < 60; bound *= 1.12) bounds.push(bound);
bounds.push(60);

export class VersionCounts {
  answers = 0;
  /** 5xx answers: the version's own and the split's 502/504 for it. */
  errors = 0;
  readonly latency = new Float64Array(bounds.length + 1);

  observe(seconds: number): void {
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((bounds[mid] as number) < seconds) lo = mid + 1;
      else hi = mid;
    }
    this.latency[lo] = (this.latency[lo] as number) + 1;
  }
}

/** The version's metric handles, counting into `counts` as well. */
export function counted(handles: UpstreamMetrics, counts: VersionCounts): UpstreamMetrics {
  const byClass = {} as UpstreamMetrics['requestsByClass'];
  for (const [statusClass, handle] of Object.entries(handles.requestsByClass) as [
    StatusClass,
    UpstreamMetrics['requestsByClass'][StatusClass],
  ][]) {
    byClass[statusClass] = {
      inc(value = 1) {
        handle.inc(value);
        counts.answers += value;
        if (statusClass === '5xx') counts.errors += value;
      },
    };
  }
  return {
    requestsByClass: byClass,
    upstreamErrors: handles.upstreamErrors,
    duration: {
      observe(seconds) {
        handles.duration.observe(seconds);
        counts.observe(seconds);
      },
    },
  };
}

export interface Series {
  rps: (number | null)[];
  /** Percent of answers that were 5xx; null in a second without answers. */
  errorRate: (number | null)[];
  p50: (number | null)[];
  p90: (number | null)[];
  p99: (number | null)[];
}

interface Tracked {
  counts: VersionCounts;
  last: { answers: number; errors: number; latency: Float64Array };
  series: Series;
}

/** Samples every tracked version's counts into per-second series, `points` long. */
export class StatsRing {
  readonly times: number[] = [];
  readonly #tracked = new Map<string, Tracked>();
  #lastAt = performance.now();

  constructor(readonly points = 300) {}

  /** The counts for a version; the same object for the same name, across reloads. */
  track(name: string): VersionCounts {
    const known = this.#tracked.get(name);
    if (known) return known.counts;
    const counts = new VersionCounts();
    const empty = () => this.times.map(() => null);
    this.#tracked.set(name, {
      counts,
      last: { answers: 0, errors: 0, latency: new Float64Array(counts.latency.length) },
      series: { rps: empty(), errorRate: empty(), p50: empty(), p90: empty(), p99: empty() },
    });
    return counts;
  }

  totals(name: string): { answers: number; errors: number } | undefined {
    const tracked = this.#tracked.get(name);
    return tracked && { answers: tracked.counts.answers, errors: tracked.counts.errors };
  }

  series(): Record<string, Series> {
    return Object.fromEntries([...this.#tracked].map(([name, tracked]) => [name, tracked.series]));
  }

  /** Takes one point per version: the change since the last sample. */
  sample(nowMs = Date.now()): void {
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.#lastAt) / 1000);
    this.#lastAt = now;
    this.times.push(Math.round(nowMs / 100) / 10);
    const overflow = this.times.length > this.points;
    if (overflow) this.times.shift();
    for (const { counts, last, series } of this.#tracked.values()) {
      const answers = counts.answers - last.answers;
      const errors = counts.errors - last.errors;
      const delta = counts.latency.map((value, i) => value - (last.latency[i] as number));
      last.answers = counts.answers;
      last.errors = counts.errors;
      last.latency.set(counts.latency);
      const observed = delta.reduce((sum, n) => sum + n, 0);
      push(series.rps, round(answers / seconds), overflow);
      push(series.errorRate, answers > 0 ? round((100 * errors) / answers) : null, overflow);
      push(series.p50, observed > 0 ? quantileMs(delta, observed, 0.5) : null, overflow);
      push(series.p90, observed > 0 ? quantileMs(delta, observed, 0.9) : null, overflow);
      push(series.p99, observed > 0 ? quantileMs(delta, observed, 0.99) : null, overflow);
    }
  }
}

function push(values: (number | null)[], value: number | null, overflow: boolean): void {
  values.push(value);
  if (overflow) values.shift();
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The q-quantile in milliseconds, interpolated inside its bucket (as Prometheus' histogram_quantile). */
export function quantileMs(buckets: Float64Array, total: number, q: number): number {
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i] as number;
    if (count > 0 && seen + count >= rank) {
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const upper = i < bounds.length ? (bounds[i] as number) : (bounds.at(-1) as number);
      return round(1000 * (lower + (upper - lower) * ((rank - seen) / count)));
    }
    seen += count;
  }
  return round(1000 * (bounds.at(-1) as number));
}
