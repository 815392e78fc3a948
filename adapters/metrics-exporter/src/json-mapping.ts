/**
 * --json-mapping-file: json_exporter's configuration, as its users have it.
 *
 *   modules:
 *     default:
 *       headers: { X-Token: abc }
 *       metrics:
 *       - name: example_value
 *         type: object                       # value (default) | object
 *         path: '{ .values[?(@.state == "ACTIVE")] }'
 *         help: Example
 *         valuetype: gauge                    # gauge | counter | untyped (default)
 *         labels: { id: '{ .id }', environment: beta }
 *         values: { count: '{ .count }', active: 1 }
 *         valueconverter: { '{ .state }': { ACTIVE: 1, INACTIVE: 0 } }
 *
 * Every mistake is reported with its line, and so is a metric name promtool would flag: refused at
 * start (exit 2) and on SIGHUP (the running mapping stays).
 */

import type { FamilyType } from '../../../lib/exposition.js';
import { type Path, PathError, parseTemplate, singlePath, type Template } from './jsonpath.js';
import { counterName, lintProblem, sanitizeLabelName, sanitizeName } from './names.js';
import { parseYamlWithLines } from './yaml.js';

export interface JsonValue {
  /** The family's name, as written (a counter's with `_total`). */
  readonly family: string;
  readonly template: Template;
  /** Lower-cased strings to numbers (json_exporter's valueconverter for this value's path). */
  readonly converter: ReadonlyMap<string, number> | undefined;
}

export interface JsonMetric {
  readonly line: number;
  readonly help: string;
  readonly type: FamilyType;
  /** For `type: object`: the elements each value and label is read from. */
  readonly elements: Path | undefined;
  readonly labels: ReadonlyArray<readonly [string, Template]>;
  readonly values: readonly JsonValue[];
  readonly allowMissing: boolean;
  readonly timestamp: Template | undefined;
}

export interface JsonMapping {
  readonly module: string;
  readonly headers: Readonly<Record<string, string>>;
  /** json_exporter's body.content: sent with POST. */
  readonly body: string | undefined;
  readonly validStatusCodes: readonly number[] | undefined;
  readonly metrics: readonly JsonMetric[];
  /** Keys json_exporter knows that podkit does not use, for one warning at load. */
  readonly ignored: readonly string[];
}

/** A mistake in the file, with the line it is on. */
export class MappingError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const moduleKeys = ['headers', 'metrics', 'body', 'valid_status_codes', 'http_client_config'];
const metricKeys = [
  'name',
  'path',
  'type',
  'help',
  'labels',
  'values',
  'valuetype',
  'valueconverter',
  'epochTimestamp',
  'epochtimestamp',
  'allow_missing_key',
  'engine',
];

export function parseJsonMapping(text: string, moduleName: string | undefined): JsonMapping {
  const { root, lineOf } = parseYamlWithLines(text, (line, message) => new MappingError(line, message));
  if (!isRecord(root))
    throw new MappingError(1, 'expected json_exporter\'s configuration: a mapping with "modules"');

  let base: Array<string | number>;
  let module: Record<string, unknown>;
  let chosen = moduleName ?? 'default';
  if (isRecord(root.modules)) {
    const names = Object.keys(root.modules);
    if (moduleName === undefined && names.length === 1) chosen = names[0] as string;
    const found = root.modules[chosen];
    if (!isRecord(found))
      throw new MappingError(
        lineOf(['modules']),
        `no module ${JSON.stringify(chosen)} under modules (it has ${names.map((n) => JSON.stringify(n)).join(', ') || 'none'}): pick one with --json-module`,
      );
    base = ['modules', chosen];
    module = found;
  } else if (Array.isArray(root.metrics)) {
    // json_exporter 0.3-0.4 files: one module at the top level.
    base = [];
    module = root;
  } else {
    throw new MappingError(
      1,
      'expected "modules:" (json_exporter\'s configuration) with a module holding "metrics:"',
    );
  }

  for (const key of Object.keys(module)) {
    if (!moduleKeys.includes(key) && !(base.length === 0 && key === 'modules'))
      throw new MappingError(
        lineOf([...base, key]),
        `unknown key ${JSON.stringify(key)} in the module (known: ${moduleKeys.join(', ')})`,
      );
  }
  const headers = stringMap(module.headers, 'headers', lineOf([...base, 'headers']));
  const body = parseBody(module.body, lineOf([...base, 'body']));
  const validStatusCodes = parseStatusCodes(
    module.valid_status_codes,
    lineOf([...base, 'valid_status_codes']),
  );
  if (!Array.isArray(module.metrics) || module.metrics.length === 0)
    throw new MappingError(lineOf(base.length ? base : []), 'the module has no "metrics:" list');

  const families = new Map<string, number>();
  const metrics = module.metrics.map((entry: unknown, index: number) => {
    const at = [...base, 'metrics', index];
    const metric = parseMetric(entry, (key) =>
      key === undefined ? lineOf(at) : lineOf([...at, key], lineOf(at)),
    );
    for (const value of metric.values) {
      const earlier = families.get(value.family);
      if (earlier !== undefined)
        throw new MappingError(
          metric.line,
          `metric ${value.family} is also made on line ${earlier}: names must be unique`,
        );
      families.set(value.family, metric.line);
    }
    return metric;
  });
  const ignored = module.http_client_config === undefined ? [] : ['http_client_config'];
  return { module: chosen, headers, body, validStatusCodes, metrics, ignored };
}

function parseMetric(entry: unknown, lineOf: (key?: string) => number): JsonMetric {
  const line = lineOf();
  if (!isRecord(entry)) throw new MappingError(line, 'expected a metric: a mapping with name and path');
  const label = typeof entry.name === 'string' ? `metric ${JSON.stringify(entry.name)}: ` : '';
  const fail = (key: string | undefined, message: string) =>
    new MappingError(lineOf(key), `${label}${message}`);
  for (const key of Object.keys(entry)) {
    if (!metricKeys.includes(key))
      throw fail(key, `unknown key ${JSON.stringify(key)} (known: ${metricKeys.join(', ')})`);
  }
  if (entry.engine !== undefined && entry.engine !== 'jsonpath')
    throw fail(
      'engine',
      `engine ${JSON.stringify(entry.engine)} is not supported: podkit reads JSONPath paths only`,
    );
  if (typeof entry.name !== 'string' || sanitizeName(entry.name) === '')
    throw fail('name', 'name must be a non-empty string');
  const baseName = sanitizeName(entry.name);
  const scrape = entry.type ?? 'value';
  if (scrape !== 'value' && scrape !== 'object')
    throw fail('type', `type must be value or object (got ${show(scrape)})`);
  const valueType = entry.valuetype ?? 'untyped';
  if (valueType !== 'gauge' && valueType !== 'counter' && valueType !== 'untyped')
    throw fail('valuetype', `valuetype must be gauge, counter or untyped (got ${show(valueType)})`);
  if (typeof entry.path !== 'string' || entry.path.trim() === '')
    throw fail('path', 'path must be a JSONPath such as {.a.b}');
  const template = (raw: string, key: string) => {
    try {
      return parseTemplate(raw);
    } catch (err) {
      if (err instanceof PathError) throw fail(key, `cannot read ${JSON.stringify(raw)}: ${err.message}`);
      throw err;
    }
  };
  const help = entry.help === undefined ? baseName : String(entry.help);

  const labelsRaw = stringMap(entry.labels, 'labels', lineOf('labels'));
  const labels: Array<readonly [string, Template]> = [];
  for (const [rawLabel, source] of Object.entries(labelsRaw)) {
    const name = sanitizeLabelName(rawLabel);
    if (!name || name.startsWith('__'))
      throw fail('labels', `label name ${JSON.stringify(rawLabel)} is not usable`);
    if (labels.some(([existing]) => existing === name)) throw fail('labels', `label ${name} is given twice`);
    labels.push([name, template(source, 'labels')]);
  }
  const converters = parseConverters(entry.valueconverter, fail);
  const pathTemplate = template(entry.path, 'path');
  const allowMissing = entry.allow_missing_key === true;
  const stamp = entry.epochTimestamp ?? entry.epochtimestamp;
  const timestamp = stamp === undefined ? undefined : template(String(stamp), 'epochTimestamp');
  const familyName = (name: string, key: string) => {
    const full = valueType === 'counter' ? counterName(name) : name;
    const problem = lintProblem(
      full,
      valueType,
      labels.map(([l]) => l),
    );
    if (problem) throw fail(key, `${full}: ${problem} (promtool check metrics would refuse it)`);
    return full;
  };

  if (scrape === 'value') {
    if (entry.values !== undefined) throw fail('values', 'values is for type: object');
    return {
      line,
      help,
      type: valueType,
      elements: undefined,
      labels,
      values: [
        {
          family: familyName(baseName, 'name'),
          template: pathTemplate,
          converter: converters.get(normalize(entry.path)),
        },
      ],
      allowMissing,
      timestamp,
    };
  }
  const elements = singlePath(pathTemplate);
  if (!elements) throw fail('path', 'the path of an object metric must be one JSONPath, such as {.items[*]}');
  const valuesRaw = stringMap(entry.values, 'values', lineOf('values'));
  if (Object.keys(valuesRaw).length === 0)
    throw fail('values', 'an object metric needs values: { name: "{.field}" }');
  const values = Object.entries(valuesRaw).map(([suffix, source]) => ({
    family: familyName(sanitizeName(`${baseName}_${suffix}`), 'values'),
    template: template(source, 'values'),
    converter: converters.get(normalize(source)),
  }));
  return { line, help, type: valueType, elements, labels, values, allowMissing, timestamp };
}

/** `{ .state }` and `{.state}` name the same path in a valueconverter. */
function normalize(source: string): string {
  return source.replace(/\{\s+/g, '{').replace(/\s+\}/g, '}').trim();
}

function parseConverters(
  raw: unknown,
  fail: (key: string, message: string) => MappingError,
): Map<string, ReadonlyMap<string, number>> {
  const converters = new Map<string, ReadonlyMap<string, number>>();
  if (raw === undefined) return converters;
  if (!isRecord(raw))
    throw fail('valueconverter', 'valueconverter must map a value path to { text: number }');
  for (const [path, table] of Object.entries(raw)) {
    if (!isRecord(table)) throw fail('valueconverter', `valueconverter ${path} must map texts to numbers`);
    const map = new Map<string, number>();
    for (const [text, number] of Object.entries(table)) {
      const value = typeof number === 'number' ? number : Number(number);
      if (typeof number === 'boolean' || Number.isNaN(value))
        throw fail(
          'valueconverter',
          `valueconverter ${path}: ${JSON.stringify(text)} must map to a number (got ${show(number)})`,
        );
      map.set(text.toLowerCase(), value);
    }
    converters.set(normalize(path), map);
  }
  return converters;
}

function parseBody(raw: unknown, line: number): string | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw) || typeof raw.content !== 'string')
    throw new MappingError(line, 'body must be { content: "..." }');
  if (raw.templatize === true)
    throw new MappingError(line, 'body.templatize is not supported: give the body as it is sent');
  return raw.content;
}

function parseStatusCodes(raw: unknown, line: number): number[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || !raw.every((code) => Number.isInteger(code) && code >= 100 && code <= 599))
    throw new MappingError(line, 'valid_status_codes must be a list of HTTP status codes');
  return raw as number[];
}

function stringMap(raw: unknown, what: string, line: number): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) throw new MappingError(line, `${what} must be a mapping`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'object' && value !== null)
      throw new MappingError(line, `${what}.${key} must be a string or a number`);
    out[key] = String(value);
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
