/**
 * The JSON source: at each scrape, GET --json-url (through lib/http-client.ts) and write the mapping's
 * metrics from the answer, as json_exporter does: values are numbers, booleans (1/0), numeric strings,
 * or strings the metric's valueconverter knows; null is NaN; anything else is skipped and counted.
 */

import type { HttpClient } from '../../../lib/http-client.js';
import type { BuiltFamily, FamilyBuilder } from './families.js';
import type { JsonMapping, JsonMetric, JsonValue } from './json-mapping.js';
import {
  absentValue,
  evaluate,
  type Node,
  nodeText,
  notPlain,
  plainValue,
  renderTemplate,
  type Template,
} from './jsonpath.js';
import { type Source, SourceDown } from './source.js';

/** A stats document larger than this is refused (a source gone wrong, not stats). */
export const maxJsonBytes = 64 * 1024 * 1024;

export class JsonSource implements Source {
  readonly name = 'json';

  constructor(
    private readonly url: URL,
    private readonly client: HttpClient,
    /** The mapping in force: SIGHUP swaps it between scrapes. */
    private readonly mapping: () => JsonMapping,
  ) {}

  async collect(out: FamilyBuilder, signal: AbortSignal, timeoutMs: number): Promise<void> {
    const mapping = this.mapping();
    const response = await this.client.request(this.url, {
      method: mapping.body === undefined ? 'GET' : 'POST',
      headers: { accept: 'application/json', ...mapping.headers },
      ...(mapping.body === undefined ? {} : { body: mapping.body }),
      timeoutMs,
      signal,
      maxBodyBytes: maxJsonBytes,
    });
    const valid = mapping.validStatusCodes;
    if (valid ? !valid.includes(response.status) : response.status < 200 || response.status > 299)
      throw new SourceDown(`answered HTTP ${response.status}`);
    let data: unknown;
    try {
      data = JSON.parse(response.body.toString('utf8'));
    } catch (err) {
      out.skip('malformed', `the answer is not JSON: ${(err as Error).message}`);
      throw new SourceDown('answered with malformed JSON');
    }
    writeMapping(data, mapping, out);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/** Every metric of the mapping, read from `data`. */
export function writeMapping(data: unknown, mapping: JsonMapping, out: FamilyBuilder): void {
  const root: Node = { value: data, key: undefined };
  for (const metric of mapping.metrics) {
    // Each value's family once per metric, not once per element.
    const labelNames = metric.labels.map(([name]) => name);
    const families = metric.values.map((value) =>
      out.family(value.family, metric.type, metric.help, labelNames),
    );
    if (metric.elements === undefined) {
      writeValues(metric, families, root, out);
      continue;
    }
    const elements = evaluate(metric.elements, root);
    if (elements.length === 0 && !metric.allowMissing)
      out.skip('missing', `line ${metric.line}: the path of ${metric.values[0]?.family} found nothing`);
    for (const element of elements) writeValues(metric, families, element, out);
  }
}

function writeValues(
  metric: JsonMetric,
  families: ReadonlyArray<BuiltFamily | undefined>,
  node: Node,
  out: FamilyBuilder,
): void {
  const labels: Array<readonly [string, string]> = [];
  for (const [name, template] of metric.labels) labels.push([name, labelText(template, node)]);
  const timestampMs = metric.timestamp === undefined ? undefined : readTimestamp(metric.timestamp, node);
  for (let i = 0; i < metric.values.length; i++) {
    const family = families[i];
    if (!family) continue;
    const number = readValue(metric.values[i] as JsonValue, node, metric, out);
    if (number !== undefined) out.add(family, labels, number, timestampMs);
  }
}

/** A label's text: what its paths found (nothing found is an empty value, as in json_exporter). */
function labelText(template: Template, node: Node): string {
  const found = plainValue(template, node.value);
  if (found === notPlain) return renderTemplate(template, node).text;
  return found === absentValue ? '' : nodeText(found);
}

function readValue(value: JsonValue, node: Node, metric: JsonMetric, out: FamilyBuilder): number | undefined {
  const found = templateValue(value.template, node);
  if (found === undefined) {
    if (!metric.allowMissing)
      out.skip('missing', `line ${metric.line}: ${value.family} found nothing at its path`);
    return undefined;
  }
  const number = toNumber(found, value.converter);
  if (number === undefined)
    out.skip(
      'non_numeric',
      `line ${metric.line}: ${value.family} read ${JSON.stringify(nodeText(found)).slice(0, 200)}, which is not a number${value.converter ? ' nor in its valueconverter' : ' (a valueconverter maps texts to numbers)'}`,
    );
  return number;
}

/** A template that is one path gives that path's value as it is; others give their text. */
function templateValue(template: Template, node: Node): unknown {
  const plain = plainValue(template, node.value);
  if (plain !== notPlain) return plain === absentValue ? undefined : plain;
  const [only] = template;
  if (template.length === 1 && typeof only !== 'string' && only !== undefined) {
    const found = evaluate(only, node);
    if (found.length === 0) return undefined;
    return found.length === 1 ? found[0]?.value : found.map((n) => nodeText(n.value)).join(' ');
  }
  const { text, missing } = renderTemplate(template, node);
  return missing ? undefined : text;
}

function readTimestamp(template: Template, node: Node): number | undefined {
  const value = templateValue(template, node);
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isSafeInteger(number) ? number : undefined;
}

const goFloat = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;
const goBool: Record<string, number> = {
  1: 1,
  t: 1,
  T: 1,
  TRUE: 1,
  true: 1,
  True: 1,
  0: 0,
  f: 0,
  F: 0,
  FALSE: 0,
  false: 0,
  False: 0,
};

/** json_exporter's reading of a value (Go's ParseFloat, then ParseBool), after the value map. */
export function toNumber(value: unknown, converter?: ReadonlyMap<string, number>): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === null) return Number.NaN;
  if (typeof value !== 'string') return undefined;
  const mapped = converter?.get(value.toLowerCase());
  if (mapped !== undefined) return mapped;
  if (goFloat.test(value)) {
    const lower = value.toLowerCase().replace(/^\+/, '');
    if (lower === 'nan') return Number.NaN;
    if (lower === 'inf' || lower === 'infinity') return Number.POSITIVE_INFINITY;
    if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
    return Number(value);
  }
  return Object.hasOwn(goBool, value) ? goBool[value] : undefined;
}
