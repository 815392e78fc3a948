/**
 * --statsd-mapping-file: statsd_exporter's mapping format, the part of it a pod needs.
 *
 *   defaults:
 *     match_type: glob           # glob (default) | regex
 *     buckets: [0.01, 0.1, 1]    # or histogram_options: { buckets: [...] }
 *     ttl: 5m                    # overrides --statsd-ttl
 *   mappings:
 *   - match: "api.*.requests"
 *     name: "api_requests"
 *     labels: { endpoint: "$1" }
 *     match_metric_type: counter # counter | gauge | observer (timers, histograms)
 *     help: Requests by endpoint.
 *   - match: "debug.*"
 *     action: drop
 *
 * A glob's `*` matches one dot-separated part; `$1` (or `${1}`) in a name or label is what the first `*`
 * or regex group matched. Mistakes are reported with their line (exit 2 at start, refused on SIGHUP).
 */

import { parseDuration } from '../../../lib/option-types.js';
import { lintProblem, sanitizeLabelName, sanitizeName } from './names.js';
import type { StatsdType } from './statsd-line.js';
import { parseYamlWithLines } from './yaml.js';

export interface Resolved {
  readonly name: string;
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly help: string | undefined;
  readonly buckets: readonly number[] | undefined;
  readonly ttlMs: number | undefined;
}

interface Rule {
  readonly line: number;
  readonly pattern: RegExp;
  readonly metricType: StatsdType | undefined;
  readonly drop: boolean;
  readonly name: string;
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly help: string | undefined;
  readonly buckets: readonly number[] | undefined;
  readonly ttlMs: number | undefined;
}

export interface StatsdMapping {
  /** The mapping for a metric, 'drop', or undefined when no rule matches. */
  resolve(name: string, type: StatsdType): Resolved | 'drop' | undefined;
  readonly defaultBuckets: readonly number[] | undefined;
  readonly defaultTtlMs: number | undefined;
}

export const emptyMapping: StatsdMapping = {
  resolve: () => undefined,
  defaultBuckets: undefined,
  defaultTtlMs: undefined,
};

export class StatsdMappingError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const topKeys = ['defaults', 'mappings'];
const defaultKeys = [
  'match_type',
  'buckets',
  'histogram_options',
  'ttl',
  'timer_type',
  'observer_type',
  'glob_disable_ordering',
];
const ruleKeys = [
  'match',
  'name',
  'labels',
  'help',
  'match_type',
  'match_metric_type',
  'action',
  'buckets',
  'histogram_options',
  'ttl',
  'timer_type',
  'observer_type',
];
const metricTypes: Record<string, StatsdType> = {
  counter: 'counter',
  gauge: 'gauge',
  observer: 'observer',
  timer: 'observer',
};

export function parseStatsdMapping(text: string): StatsdMapping {
  const { root, lineOf } = parseYamlWithLines(text, (line, message) => new StatsdMappingError(line, message));
  if (!isRecord(root))
    throw new StatsdMappingError(1, 'expected a mapping with "mappings:" (statsd_exporter\'s format)');
  checkKeys(root, topKeys, (key) => lineOf([key]), 'at the top level');
  const defaults = root.defaults === undefined ? {} : root.defaults;
  if (!isRecord(defaults)) throw new StatsdMappingError(lineOf(['defaults']), 'defaults must be a mapping');
  checkKeys(defaults, defaultKeys, (key) => lineOf(['defaults', key]), 'in defaults');
  const at = (key: string) => lineOf(['defaults', key]);
  checkObserverType(defaults, at);
  const defaultMatchType = matchType(defaults.match_type ?? 'glob', at('match_type'));
  const defaultBuckets = buckets(defaults, at);
  const defaultTtlMs = ttl(defaults.ttl, at('ttl'));
  const list = root.mappings ?? [];
  if (!Array.isArray(list)) throw new StatsdMappingError(lineOf(['mappings']), 'mappings must be a list');
  const rules = list.map((entry: unknown, index: number) =>
    parseRule(entry, defaultMatchType, (key) =>
      lineOf(key === undefined ? ['mappings', index] : ['mappings', index, key]),
    ),
  );

  const cache = new Map<string, Resolved | 'drop' | undefined>();
  return {
    defaultBuckets,
    defaultTtlMs,
    resolve(name, type) {
      const key = `${type}\u0000${name}`;
      if (cache.has(key)) return cache.get(key);
      const resolved = resolveUncached(rules, name, type);
      // Bounded: metric names are what a client sends, and a label explosion must not grow this.
      if (cache.size >= 10_000) cache.clear();
      cache.set(key, resolved);
      return resolved;
    },
  };
}

function resolveUncached(
  rules: readonly Rule[],
  name: string,
  type: StatsdType,
): Resolved | 'drop' | undefined {
  for (const rule of rules) {
    if (rule.metricType !== undefined && rule.metricType !== type) continue;
    const match = rule.pattern.exec(name);
    if (!match) continue;
    if (rule.drop) return 'drop';
    const fill = (template: string) =>
      template.replace(
        /\$(?:\{(\d+)\}|(\d+))/g,
        (_, braced: string | undefined, bare: string | undefined) => match[Number(braced ?? bare)] ?? '',
      );
    return {
      name: fill(rule.name),
      labels: rule.labels.map(([label, value]) => [label, fill(value)] as const),
      help: rule.help,
      buckets: rule.buckets,
      ttlMs: rule.ttlMs,
    };
  }
  return undefined;
}

function parseRule(
  entry: unknown,
  defaultMatchType: 'glob' | 'regex',
  lineOf: (key?: string) => number,
): Rule {
  const line = lineOf();
  if (!isRecord(entry)) throw new StatsdMappingError(line, 'expected a mapping with match and name');
  checkKeys(entry, ruleKeys, lineOf, 'in a mapping');
  checkObserverType(entry, lineOf);
  if (typeof entry.match !== 'string' || entry.match === '')
    throw new StatsdMappingError(lineOf('match'), 'match must be a non-empty string');
  const kind = matchType(entry.match_type ?? defaultMatchType, lineOf('match_type'));
  let pattern: RegExp;
  try {
    pattern = kind === 'glob' ? globPattern(entry.match) : new RegExp(`^(?:${entry.match})$`);
  } catch (err) {
    throw new StatsdMappingError(
      lineOf('match'),
      `match is not a valid regular expression: ${(err as Error).message}`,
    );
  }
  const action = entry.action ?? 'map';
  if (action !== 'map' && action !== 'drop')
    throw new StatsdMappingError(lineOf('action'), `action must be map or drop (got ${show(action)})`);
  const typeName = entry.match_metric_type;
  const metricType = typeName === undefined ? undefined : metricTypes[String(typeName)];
  if (typeName !== undefined && !metricType)
    throw new StatsdMappingError(
      lineOf('match_metric_type'),
      `match_metric_type must be counter, gauge or observer (got ${show(typeName)})`,
    );
  const base = { line, pattern, metricType, help: entry.help === undefined ? undefined : String(entry.help) };
  if (action === 'drop')
    return { ...base, drop: true, name: '', labels: [], buckets: undefined, ttlMs: undefined };
  if (typeof entry.name !== 'string' || entry.name === '')
    throw new StatsdMappingError(lineOf('name'), 'name must be a non-empty string');
  const name = entry.name;
  // A name without $n is known now; check what can be checked before a type is known.
  const sample = sanitizeName(name.replace(/\$(?:\{\d+\}|\d+)/g, 'x'));
  const problem = sample ? lintProblem(sample, 'untyped') : 'it has no usable characters';
  if (problem)
    throw new StatsdMappingError(
      lineOf('name'),
      `name ${JSON.stringify(name)}: ${problem} (promtool check metrics would refuse it)`,
    );
  const labelsRaw = entry.labels ?? {};
  if (!isRecord(labelsRaw)) throw new StatsdMappingError(lineOf('labels'), 'labels must be a mapping');
  const labels = Object.entries(labelsRaw).map(([label, value]) => {
    const clean = sanitizeLabelName(label);
    if (!clean || clean.startsWith('__') || clean === 'le' || clean === 'quantile')
      throw new StatsdMappingError(lineOf('labels'), `label name ${JSON.stringify(label)} is not usable`);
    return [clean, String(value)] as const;
  });
  return {
    ...base,
    drop: false,
    name,
    labels,
    buckets: buckets(entry, lineOf),
    ttlMs: ttl(entry.ttl, lineOf('ttl')),
  };
}

/** `*` is one dot-separated part; everything else is literal. */
function globPattern(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('([^.]*)');
  return new RegExp(`^${body}$`);
}

function matchType(raw: unknown, line: number): 'glob' | 'regex' {
  if (raw === 'glob' || raw === 'regex') return raw;
  throw new StatsdMappingError(line, `match_type must be glob or regex (got ${show(raw)})`);
}

function checkObserverType(entry: Record<string, unknown>, lineOf: (key: string) => number): void {
  for (const key of ['timer_type', 'observer_type']) {
    const value = entry[key];
    if (value !== undefined && value !== 'histogram' && value !== 'default')
      throw new StatsdMappingError(
        lineOf(key),
        `${key} ${show(value)} is not supported: timers become histograms`,
      );
  }
}

function buckets(entry: Record<string, unknown>, lineOf: (key: string) => number): number[] | undefined {
  const options = entry.histogram_options;
  const raw = isRecord(options) ? options.buckets : entry.buckets;
  const key = isRecord(options) ? 'histogram_options' : 'buckets';
  if (raw === undefined) return undefined;
  if (
    !Array.isArray(raw) ||
    raw.length === 0 ||
    !raw.every((b) => typeof b === 'number' && Number.isFinite(b))
  )
    throw new StatsdMappingError(
      lineOf(key),
      'buckets must be a list of numbers (upper bounds, in seconds for timers)',
    );
  const sorted = [...raw].sort((a, b) => a - b);
  if (new Set(sorted).size !== sorted.length)
    throw new StatsdMappingError(lineOf(key), 'buckets must not repeat a bound');
  return sorted;
}

function ttl(raw: unknown, line: number): number | undefined {
  if (raw === undefined) return undefined;
  try {
    return parseDuration(String(raw));
  } catch {
    throw new StatsdMappingError(line, `ttl must be a duration like 30s or 5m (got ${show(raw)})`);
  }
}

function checkKeys(
  entry: Record<string, unknown>,
  known: readonly string[],
  lineOf: (key: string) => number,
  where: string,
): void {
  for (const key of Object.keys(entry)) {
    if (!known.includes(key))
      throw new StatsdMappingError(
        lineOf(key),
        `unknown key ${JSON.stringify(key)} ${where} (known: ${known.join(', ')})`,
      );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
