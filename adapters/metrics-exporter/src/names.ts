/**
 * Metric and label names from other systems made into names Prometheus takes, and the names that
 * `promtool check metrics` would still flag found before they reach /metrics (the rules of its linter,
 * promlint: units, abbreviations, types in names, reserved suffixes and labels).
 */

import type { FamilyType } from '../../../lib/exposition.js';

/**
 * `Threads_connected`, `api.requests-OK`, `usedMemory` -> `threads_connected`, `api_requests_ok`,
 * `used_memory`: anything but letters, digits and `_` becomes `_`, camelCase becomes snake_case, all
 * lower case, no doubled or trailing `_`, and a leading digit gets a `_` in front. Empty stays empty.
 */
export function sanitizeName(raw: string): string {
  const snake = raw
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_{2,}/g, '_')
    .replace(/_+$/, '');
  return /^[0-9]/.test(snake) ? `_${snake}` : snake;
}

/** A label name: sanitised like a metric name; names starting with `__` are Prometheus's own. */
export function sanitizeLabelName(raw: string): string {
  return sanitizeName(raw).replace(/^_+/, '_');
}

const validName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const units: Record<string, string> = {
  amperes: 'amperes',
  bytes: 'bytes',
  celsius: 'celsius',
  grams: 'grams',
  joules: 'joules',
  kelvin: 'kelvin',
  meters: 'meters',
  metres: 'metres',
  seconds: 'seconds',
  volts: 'volts',
  minutes: 'seconds',
  hours: 'seconds',
  days: 'seconds',
  weeks: 'seconds',
  kelvins: 'kelvin',
  fahrenheit: 'celsius',
  rankine: 'celsius',
  inches: 'meters',
  yards: 'meters',
  miles: 'meters',
  bits: 'bytes',
  calories: 'joules',
  pounds: 'grams',
  ounces: 'grams',
};
const unitPrefixes = [
  'pico',
  'nano',
  'micro',
  'milli',
  'centi',
  'deci',
  'deca',
  'hecto',
  'kilo',
  'kibi',
  'mega',
  'mibi',
  'giga',
  'gibi',
  'tera',
  'tebi',
  'peta',
  'pebi',
];
const abbreviations = new Set([
  's',
  'ms',
  'us',
  'ns',
  'sec',
  'b',
  'kb',
  'mb',
  'gb',
  'tb',
  'pb',
  'm',
  'h',
  'd',
]);
const typeNames = ['counter', 'gauge', 'histogram', 'summary'];

/**
 * What promtool's linter would say about a family of this name, type and label names, or undefined
 * when it would say nothing. `name` is the text format's (a counter's ends with `_total`).
 */
export function lintProblem(
  name: string,
  type: FamilyType,
  labelNames: readonly string[] = [],
): string | undefined {
  if (!validName.test(name)) return `${JSON.stringify(name)} is not a valid metric name`;
  const tokens = name.split('_');
  for (const token of tokens) {
    const base =
      units[token] ??
      unitPrefixes.map((p) => token.startsWith(p) && units[token.slice(p.length)]).find(Boolean);
    if (base && base !== token) return `use base unit "${base}" instead of "${token}"`;
  }
  if (tokens.slice(1).some((token) => abbreviations.has(token)))
    return 'metric names should not contain abbreviated units';
  for (const typeName of typeNames) {
    if (name.includes(`_${typeName}_`) || name.endsWith(`_${typeName}`))
      return `metric name should not include type '${typeName}'`;
  }
  if (type === 'counter' && !name.endsWith('_total')) return 'counter metrics should have "_total" suffix';
  if (type !== 'counter' && type !== 'untyped' && name.endsWith('_total'))
    return 'non-counter metrics should not have "_total" suffix';
  if (type !== 'untyped') {
    const histogramLike = type === 'histogram' || type === 'summary';
    if (type !== 'histogram' && name.endsWith('_bucket'))
      return 'non-histogram metrics should not have "_bucket" suffix';
    if (!histogramLike && (name.endsWith('_count') || name.endsWith('_sum')))
      return 'non-histogram and non-summary metrics should not have "_count" or "_sum" suffix';
    if (type !== 'histogram' && labelNames.includes('le'))
      return 'non-histogram metrics should not have "le" label';
    if (type !== 'summary' && labelNames.includes('quantile'))
      return 'non-summary metrics should not have "quantile" label';
  }
  for (const label of labelNames) {
    if (!validName.test(label) || label.startsWith('__'))
      return `${JSON.stringify(label)} is not a valid label name`;
  }
  return undefined;
}

/** A counter's name in the text format: `_total` added when it lacks it (OpenMetrics adds it anyway). */
export function counterName(name: string): string {
  return name.endsWith('_total') ? name : `${name}_total`;
}
