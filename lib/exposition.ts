/**
 * The metrics exposition formats /metrics speaks: the Prometheus text format (0.0.4) and OpenMetrics
 * 1.0, chosen by the scraper's Accept header as Prometheus asks (OpenMetrics first, text as fallback).
 *
 * prom-client writes one format per registry and, asked for OpenMetrics, renames its counters in place
 * (it strips `_total` from the metric objects it shares with the text format), so the OpenMetrics text
 * is written here from the registry's JSON instead. Components that translate metrics of their own
 * (metrics-exporter) add families to a registry's output with `addExpositionSource`; they are written
 * by the same code, in the same format, after the registry's metrics.
 */

import type { Registry } from 'prom-client';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const contentTypes: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/**
 * OpenMetrics when the Accept header ranks it above the text format (Prometheus sends
 * `application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1`),
 * the text format otherwise, including for no header, `*\/*` and anything unknown.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'prometheus';
  let openMetrics = 0;
  let text = 0;
  for (const entry of accept.split(',')) {
    const [type = '', ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (!Number.isFinite(weight)) continue;
    if (type === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, weight);
    else if (type === 'text/plain') text = Math.max(text, weight);
  }
  return openMetrics > 0 && openMetrics >= text ? 'openmetrics' : 'prometheus';
}

export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** One line of a family: its full name (with `_bucket`, `_sum`, `_total`...), labels and value. */
export interface Sample {
  readonly name: string;
  /** Already written and escaped: `{a="1",b="x"}`, or empty. */
  readonly labels: string;
  readonly value: number;
  /** When the value was observed, if the source says so (milliseconds since the epoch). */
  readonly timestampMs?: number;
}

/**
 * A metric family. `name` is the text format's: a counter's ends with `_total`, which OpenMetrics
 * moves from the family to its samples.
 */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly samples: readonly Sample[];
}

/** Families a component adds to its registry's /metrics, gathered at each scrape before the registry's. */
export type ExpositionSource = (format: ExpositionFormat) => Promise<readonly Family[]>;

const sources = new WeakMap<Registry, Set<ExpositionSource>>();

/** Adds families to every scrape of `registry`; the returned function removes the source. */
export function addExpositionSource(registry: Registry, source: ExpositionSource): () => void {
  const set = sources.get(registry) ?? new Set();
  set.add(source);
  sources.set(registry, set);
  return () => set.delete(source);
}

/**
 * The registry's metrics and its sources' families in one format. Sources are read first, so the
 * counters and gauges they update while gathering (their own up, skipped, dropped) are current.
 */
export async function renderRegistry(registry: Registry, format: ExpositionFormat): Promise<string> {
  const extra = await Promise.all([...(sources.get(registry) ?? [])].map((source) => source(format)));
  const families = extra.flat();
  if (format === 'prometheus') {
    const own = await registry.metrics();
    return families.length ? own + renderFamilies(families, format) : own;
  }
  const own = (await registry.getMetricsAsJSON()).map(fromPromClient);
  return `${renderFamilies(own, format)}${renderFamilies(families, format)}# EOF\n`;
}

/** The families as exposition text, each line ending in a newline (no `# EOF`). */
export function renderFamilies(families: readonly Family[], format: ExpositionFormat): string {
  const parts: string[] = [];
  const openMetrics = format === 'openmetrics';
  for (const family of families) {
    const name = openMetrics && family.type === 'counter' ? family.name.replace(/_total$/, '') : family.name;
    const type = openMetrics && family.type === 'untyped' ? 'unknown' : family.type;
    parts.push(`# HELP ${name} ${escapeHelp(family.help, format)}\n# TYPE ${name} ${type}\n`);
    for (const sample of family.samples) {
      const at = sample.timestampMs;
      const stamp = at === undefined ? '' : ` ${openMetrics ? at / 1000 : Math.trunc(at)}`;
      parts.push(`${sample.name}${sample.labels} ${formatValue(sample.value)}${stamp}\n`);
    }
  }
  return parts.join('');
}

/** `{a="1",b="x"}` from label pairs, values escaped; empty for none. */
export function formatLabels(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return '';
  let text = '{';
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i] as readonly [string, string];
    text += `${i ? ',' : ''}${name}="${escapeLabelValue(value)}"`;
  }
  return `${text}}`;
}

const labelSpecial = /[\\"\n]/;

/** Backslash, double quote and line feed escaped: the three characters both formats reserve. */
export function escapeLabelValue(value: string): string {
  if (!labelSpecial.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed, and in OpenMetrics the double quote too. */
export function escapeHelp(help: string, format: ExpositionFormat): string {
  const escaped = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? escaped.replace(/"/g, '\\"') : escaped;
}

export function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

type PromClientMetric = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

/** A prom-client metric (from getMetricsAsJSON) as a family. */
function fromPromClient(metric: PromClientMetric): Family {
  const values = metric.values as ReadonlyArray<{
    value: number;
    labels: Record<string, string | number>;
    metricName?: string;
  }>;
  return {
    name: metric.name,
    help: metric.help,
    type: metric.type as unknown as FamilyType,
    samples: values.map((value) => ({
      name: value.metricName ?? metric.name,
      labels: formatLabels(
        Object.entries(value.labels).map(([label, v]) => [label, formatLabelNumber(v)] as const),
      ),
      value: value.value,
    })),
  };
}

function formatLabelNumber(value: string | number): string {
  return typeof value === 'number' ? formatValue(value) : value;
}
