/**
 * What StatsD clients sent, aggregated until it expires: counters add up (divided by their sample
 * rate), gauges are set or changed, timers, histograms and distributions fill histogram buckets, and
 * sets count distinct members. A series not updated for its ttl (--statsd-ttl, or the mapping's) is
 * removed, so a client that went away stops showing up; statsd_exporter keeps them forever by default.
 *
 * The hot path (a line) does a string split, a cached mapping lookup and a map update; counts of lines
 * are kept as plain numbers and handed to the prom-client counters at scrape time.
 */

import { type FamilyType, formatLabels } from '../../../lib/exposition.js';
import type { FamilyBuilder, Labels } from './families.js';
import type { ExporterMetrics } from './metrics.js';
import { counterName, lintProblem, sanitizeLabelName, sanitizeName } from './names.js';
import type { Skips } from './skips.js';
import { parseLine, type StatsdLine, type StatsdType } from './statsd-line.js';
import type { StatsdMapping } from './statsd-mapping.js';

/** Distinct members a set keeps; more are counted as if they were among them. */
const maxSetMembers = 100_000;

interface Entry {
  readonly family: string;
  readonly type: FamilyType;
  readonly labels: Labels;
  readonly ttlMs: number;
  updated: number;
  value: number;
  readonly histogram?: { readonly bounds: readonly number[]; readonly counts: number[]; sum: number };
  readonly members?: Set<string>;
}

export interface StatsdStoreOptions {
  ttlMs: number;
  buckets: readonly number[];
  maxSeries: number;
  mapping: () => StatsdMapping;
  skips: Skips;
  metrics: ExporterMetrics;
  now?: () => number;
}

const familyTypes: Record<StatsdType, FamilyType> = {
  counter: 'counter',
  gauge: 'gauge',
  observer: 'histogram',
  set: 'gauge',
};

export class StatsdStore {
  readonly #entries = new Map<string, Entry>();
  /** Each family's type and help, from its first series: one family, one type. */
  readonly #families = new Map<string, { type: FamilyType; help: string }>();
  readonly #now: () => number;
  #accepted = 0;
  #dropped = 0;
  #packets = 0;
  #overLimit = 0;

  constructor(private readonly options: StatsdStoreOptions) {
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** One datagram: lines separated by newlines. */
  ingest(packet: string): void {
    this.#packets++;
    const now = this.#now();
    for (const line of packet.split('\n')) {
      if (line === '' || line === '\r') continue;
      const parsed = parseLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      if (typeof parsed === 'string') {
        this.options.skips.skip('statsd', 'malformed', `${JSON.stringify(line.slice(0, 100))}: ${parsed}`);
        continue;
      }
      this.#apply(parsed, now);
    }
  }

  #apply(line: StatsdLine, now: number): void {
    if (line.type === 'counter' && line.value < 0) {
      this.options.skips.skip(
        'statsd',
        'malformed',
        `${line.name}: a counter cannot go down (got ${line.value})`,
      );
      return;
    }
    const mapping = this.options.mapping();
    const resolved = mapping.resolve(line.name, line.type);
    if (resolved === 'drop') {
      this.#dropped++;
      return;
    }
    const type = familyTypes[line.type];
    const base = sanitizeName(resolved?.name ?? line.name);
    const family = type === 'counter' ? counterName(base) : base;
    const labels = mergeLabels(line.tags, resolved?.labels ?? []);
    const labelText = formatLabels(labels);
    const key = `${family}${labelText}`;
    let entry = this.#entries.get(key);
    if (entry && entry.type !== type) {
      this.options.skips.skip(
        'statsd',
        'conflict',
        `${family} is a ${entry.type}; a ${line.type} line for it was skipped`,
      );
      return;
    }
    if (!entry) {
      entry = this.#create(family, type, labels, line, resolved, mapping, now);
      if (!entry) return;
      this.#entries.set(key, entry);
    }
    entry.updated = now;
    this.#accepted++;
    switch (line.type) {
      case 'counter':
        entry.value += line.value;
        return;
      case 'gauge':
        entry.value = line.delta ? entry.value + line.value : line.value;
        return;
      case 'set':
        if (entry.members && entry.members.size < maxSetMembers) entry.members.add(line.member);
        return;
      case 'observer': {
        const histogram = entry.histogram;
        if (!histogram) return;
        let bucket = histogram.bounds.findIndex((bound) => line.value <= bound);
        if (bucket < 0) bucket = histogram.bounds.length;
        histogram.counts[bucket] = (histogram.counts[bucket] ?? 0) + line.weight;
        histogram.sum += line.value * line.weight;
        entry.value += line.weight;
      }
    }
  }

  #create(
    family: string,
    type: FamilyType,
    labels: Labels,
    line: StatsdLine,
    resolved: ReturnType<StatsdMapping['resolve']>,
    mapping: StatsdMapping,
    now: number,
  ): Entry | undefined {
    const known = this.#families.get(family);
    if (known && known.type !== type) {
      this.options.skips.skip(
        'statsd',
        'conflict',
        `${family} is a ${known.type}; a ${line.type} line for it was skipped`,
      );
      return undefined;
    }
    if (!known) {
      const problem = family
        ? lintProblem(
            family,
            type,
            labels.map(([name]) => name),
          )
        : 'no usable name';
      if (problem) {
        this.options.skips.skip(
          'statsd',
          'name',
          `${line.name} -> ${family}: ${problem} (map it in --statsd-mapping-file)`,
        );
        return undefined;
      }
    }
    if (this.#entries.size >= this.options.maxSeries) {
      this.#overLimit++;
      return undefined;
    }
    if (!known) {
      const help =
        (resolved !== undefined && typeof resolved === 'object' ? resolved.help : undefined) ??
        `StatsD ${line.type} ${line.name}.`;
      this.#families.set(family, { type, help });
    }
    const ttlMs =
      (typeof resolved === 'object' ? resolved.ttlMs : undefined) ??
      mapping.defaultTtlMs ??
      this.options.ttlMs;
    const base = { family, type, labels, ttlMs, updated: now, value: 0 };
    if (line.type === 'set') return { ...base, members: new Set() };
    if (line.type === 'observer') {
      const bounds =
        (typeof resolved === 'object' ? resolved.buckets : undefined) ??
        mapping.defaultBuckets ??
        this.options.buckets;
      return { ...base, histogram: { bounds, counts: new Array(bounds.length + 1).fill(0), sum: 0 } };
    }
    return base;
  }

  /** Removes series past their ttl; returns how many. */
  sweep(): number {
    const now = this.#now();
    let expired = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.ttlMs > 0 && now - entry.updated >= entry.ttlMs) {
        this.#entries.delete(key);
        expired++;
      }
    }
    if (expired) {
      this.options.metrics.statsdExpired.inc(expired);
      const live = new Set<string>();
      for (const entry of this.#entries.values()) live.add(entry.family);
      for (const family of this.#families.keys()) if (!live.has(family)) this.#families.delete(family);
    }
    return expired;
  }

  /** Every live series, for a scrape; line counts go to their counters first. */
  write(out: FamilyBuilder): void {
    this.#flushCounts();
    this.sweep();
    for (const entry of this.#entries.values()) {
      const info = this.#families.get(entry.family);
      const family = out.family(entry.family, entry.type, info?.help ?? entry.family);
      if (!family) continue;
      if (entry.histogram) {
        const { bounds, counts, sum } = entry.histogram;
        let running = 0;
        const cumulative = counts.map((count) => {
          running += count;
          return running;
        });
        out.addHistogram(family, entry.labels, { bounds, counts: cumulative, sum });
      } else {
        out.add(family, entry.labels, entry.members ? entry.members.size : entry.value);
      }
    }
  }

  #flushCounts(): void {
    const { metrics } = this.options;
    if (this.#packets) metrics.statsdPackets.inc(this.#packets);
    if (this.#accepted) metrics.statsdLines.inc({ result: 'accepted' }, this.#accepted);
    if (this.#dropped) metrics.statsdLines.inc({ result: 'dropped' }, this.#dropped);
    if (this.#overLimit) {
      metrics.statsdLines.inc({ result: 'over_limit' }, this.#overLimit);
      metrics.dropped.inc({ source: 'statsd' }, this.#overLimit);
    }
    this.#packets = 0;
    this.#accepted = 0;
    this.#dropped = 0;
    this.#overLimit = 0;
  }
}

/** Tags and mapping labels as one sorted set (the mapping's win), names sanitised. */
function mergeLabels(tags: Labels, mapped: Labels): Labels {
  if (tags.length === 0) return mapped;
  const merged = new Map<string, string>();
  for (const [name, value] of tags) {
    const clean = sanitizeLabelName(name);
    if (clean) merged.set(clean, value);
  }
  for (const [name, value] of mapped) merged.set(name, value);
  return [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
