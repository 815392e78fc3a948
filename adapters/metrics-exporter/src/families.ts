/**
 * What a source writes during one scrape: families of series, checked as they are added so that
 * whatever reaches /metrics is valid exposition text. A name promtool would flag, a label value that is
 * not well-formed text or is absurdly long, a series already written, a family written twice with two
 * types: each is skipped and counted with its reason, never written.
 */

import { type FamilyType, formatLabels, type Sample } from '../../../lib/exposition.js';
import { counterName, lintProblem, sanitizeName } from './names.js';
import type { SkipReason, Skips } from './skips.js';

export type Labels = ReadonlyArray<readonly [string, string]>;

/** Half of a UTF-16 pair alone: text that has no UTF-8 form. */
const anySurrogate = /[\uD800-\uDFFF]/;
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The longest label value written; longer ones are a bug or an attack on the scraper's memory. */
export const maxLabelValueLength = 2048;

/**
 * A family of one scrape. Each sample is a series of its own, except in a histogram, whose series are
 * several lines: `groups` holds where each of its series ends in `samples`.
 */
export interface BuiltFamily {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly samples: Sample[];
  readonly groups: number[] | undefined;
  readonly seen: Set<string>;
}

export interface HistogramValue {
  /** Upper bounds, ascending, without +Inf. */
  readonly bounds: readonly number[];
  /** Cumulative counts per bound, then the +Inf count. */
  readonly counts: readonly number[];
  readonly sum: number;
}

export class FamilyBuilder {
  readonly families = new Map<string, BuiltFamily>();

  constructor(
    readonly source: string,
    private readonly skips: Skips,
  ) {}

  skip(reason: SkipReason, detail: string): void {
    this.skips.skip(this.source, reason, detail);
  }

  /**
   * The family to add series to, or undefined (skipped and counted) when its name would not pass
   * promtool. `rawName` is sanitised; a counter gets `_total`. Checked names are remembered per scrape.
   */
  family(
    rawName: string,
    type: FamilyType,
    help: string,
    labelNames: readonly string[] = [],
  ): BuiltFamily | undefined {
    const base = sanitizeName(rawName);
    const name = type === 'counter' ? counterName(base) : base;
    const existing = this.families.get(name);
    if (existing) {
      if (existing.type === type) return existing;
      this.skip('conflict', `${name} is already a ${existing.type}, not a ${type}`);
      return undefined;
    }
    const problem = base
      ? lintProblem(name, type, labelNames)
      : `${JSON.stringify(rawName)} has no usable name`;
    if (problem) {
      this.skip('name', `${name || rawName}: ${problem}`);
      return undefined;
    }
    const family: BuiltFamily = {
      name,
      help: help || name,
      type,
      samples: [],
      groups: type === 'histogram' ? [] : undefined,
      seen: new Set(),
    };
    this.families.set(name, family);
    return family;
  }

  /** One series of a counter, gauge or untyped family. */
  add(family: BuiltFamily, labels: Labels, value: number, timestampMs?: number): boolean {
    const text = this.#labels(family, labels);
    if (text === undefined) return false;
    family.samples.push(
      timestampMs === undefined
        ? { name: family.name, labels: text, value }
        : { name: family.name, labels: text, value, timestampMs },
    );
    return true;
  }

  /** One series of a histogram family: its buckets, sum and count. */
  addHistogram(family: BuiltFamily, labels: Labels, histogram: HistogramValue): boolean {
    const text = this.#labels(family, labels);
    if (text === undefined) return false;
    const lines = family.samples;
    const prefix = text ? `${text.slice(0, -1)},` : '{';
    histogram.bounds.forEach((bound, i) => {
      lines.push({
        name: `${family.name}_bucket`,
        labels: `${prefix}le="${bound}"}`,
        value: histogram.counts[i] ?? 0,
      });
    });
    const total = histogram.counts[histogram.bounds.length] ?? 0;
    lines.push({ name: `${family.name}_bucket`, labels: `${prefix}le="+Inf"}`, value: total });
    lines.push({ name: `${family.name}_sum`, labels: text, value: histogram.sum });
    lines.push({ name: `${family.name}_count`, labels: text, value: total });
    family.groups?.push(lines.length);
    return true;
  }

  /** The written label set, or undefined when a value is unusable or the series was already written. */
  #labels(family: BuiltFamily, labels: Labels): string | undefined {
    for (let i = 0; i < labels.length; i++) {
      const [name, value] = labels[i] as readonly [string, string];
      if (value.length > maxLabelValueLength) {
        this.skip(
          'label_value',
          `${family.name}: the value of label ${name} is longer than ${maxLabelValueLength} characters`,
        );
        return undefined;
      }
      if (anySurrogate.test(value) && loneSurrogate.test(value)) {
        this.skip('label_value', `${family.name}: the value of label ${name} is not well-formed Unicode`);
        return undefined;
      }
    }
    const text = formatLabels(labels);
    if (family.seen.has(text)) {
      this.skip('duplicate', `${family.name}${text} was already written in this scrape`);
      return undefined;
    }
    family.seen.add(text);
    return text;
  }
}
