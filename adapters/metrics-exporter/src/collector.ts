/**
 * Scrape-time collection: every source is read at once, each within --scrape-timeout, into a family
 * builder of its own; then their families are merged in source order under --max-series, and names
 * the process already exposes (or an earlier source took) are refused, so the output never holds a
 * family twice. Scrapes that arrive while one is gathering share its result.
 */

import type { Registry } from 'prom-client';
import { describeError, ErrorCode } from '../../../lib/errors.js';
import type { Family, Sample } from '../../../lib/exposition.js';
import type { Logger } from '../../../lib/log.js';
import { type BuiltFamily, FamilyBuilder } from './families.js';
import type { ExporterMetrics } from './metrics.js';
import type { Skips } from './skips.js';
import type { Source } from './source.js';

export interface CollectorOptions {
  timeoutMs: number;
  maxSeries: number;
  registry: Registry;
  metrics: ExporterMetrics;
  skips: Skips;
  log: Logger;
}

interface Reading {
  source: Source;
  builder: FamilyBuilder | undefined;
}

export class Collector {
  #inFlight: Promise<Family[]> | undefined;
  /** Why each source is down, so a down source is logged when it goes down, not at every scrape. */
  readonly #down = new Map<string, string>();

  constructor(
    private readonly sources: readonly Source[],
    private readonly options: CollectorOptions,
  ) {}

  collect(): Promise<Family[]> {
    this.#inFlight ??= this.#gather().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #gather(): Promise<Family[]> {
    const readings = await Promise.all(this.sources.map((source) => this.#read(source)));
    return this.#merge(readings);
  }

  async #read(source: Source): Promise<Reading> {
    const { timeoutMs, metrics } = this.options;
    const builder = new FamilyBuilder(source.name, this.options.skips);
    const controller = new AbortController();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within --scrape-timeout (${timeoutMs} ms)`));
      }, timeoutMs);
    });
    try {
      await Promise.race([source.collect(builder, controller.signal, timeoutMs), deadline]);
      metrics.up.set({ source: source.name }, 1);
      this.#up(source.name);
      return { source, builder };
    } catch (err) {
      metrics.up.set({ source: source.name }, 0);
      metrics.series.set({ source: source.name }, 0);
      this.#failed(source.name, describeError(err));
      return { source, builder: undefined };
    } finally {
      clearTimeout(timer);
      metrics.scrapeDuration.set({ source: source.name }, (performance.now() - started) / 1000);
    }
  }

  #merge(readings: readonly Reading[]): Family[] {
    const { metrics, skips } = this.options;
    const claimed = this.#processNames();
    let budget = this.options.maxSeries;
    const families: Family[] = [];
    for (const { source, builder } of readings) {
      if (!builder) continue;
      let written = 0;
      let dropped = 0;
      for (const family of builder.families.values()) {
        if (family.samples.length === 0) continue;
        const names = sampleNames(family.name, family.type);
        const taken = names.find((n) => claimed.has(n));
        if (taken) {
          skips.skip(source.name, 'conflict', `${family.name}: the name ${taken} is already exposed`);
          continue;
        }
        const { samples, over } = withinBudget(family, budget);
        budget -= samples.length;
        dropped += over;
        if (samples.length === 0) continue;
        for (const n of names) claimed.add(n);
        written += samples.length;
        families.push({ name: family.name, help: family.help, type: family.type, samples });
      }
      metrics.series.set({ source: source.name }, written);
      if (dropped > 0) {
        metrics.dropped.inc({ source: source.name }, dropped);
        this.#warnDropped(source.name, dropped);
      }
    }
    return families;
  }

  /** Every name the process's own metrics use, in either format. */
  #processNames(): Set<string> {
    const names = new Set<string>();
    for (const metric of this.options.registry.getMetricsAsArray()) {
      const { name, type } = metric as unknown as { name: string; type: Family['type'] };
      for (const n of sampleNames(name, type)) names.add(n);
    }
    return names;
  }

  #droppedWarned = false;

  #warnDropped(source: string, dropped: number): void {
    if (this.#droppedWarned) return;
    this.#droppedWarned = true;
    this.options.log.warn(
      { source, dropped, maxSeries: this.options.maxSeries },
      '--max-series reached: series beyond it are dropped (counted in podkit_metrics_exporter_series_dropped_total)',
    );
  }

  #failed(source: string, reason: string): void {
    if (this.#down.get(source) === reason) return;
    this.#down.set(source, reason);
    this.options.log.warn(
      { code: ErrorCode.METRICS_SOURCE, source, reason },
      'source down: reported as podkit_metrics_exporter_up 0',
    );
  }

  #up(source: string): void {
    if (!this.#down.delete(source)) return;
    this.options.log.info({ source }, 'source up again');
  }
}

/** The family's series that fit in `budget` lines (a histogram's series whole or not at all). */
function withinBudget(family: BuiltFamily, budget: number): { samples: Sample[]; over: number } {
  const all = family.samples;
  if (all.length <= budget) return { samples: all, over: 0 };
  if (!family.groups) return { samples: all.slice(0, budget), over: all.length - budget };
  let end = 0;
  for (const groupEnd of family.groups) {
    if (groupEnd > budget) break;
    end = groupEnd;
  }
  return { samples: all.slice(0, end), over: all.length - end };
}

/** The names a family's lines and headers use in either format (a counter's with and without _total). */
function sampleNames(name: string, type: Family['type']): string[] {
  if (type === 'counter') return [name, name.replace(/_total$/, '')];
  if (type === 'histogram' || type === 'summary')
    return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
  return [name];
}
