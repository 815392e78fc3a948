/**
 * --config-file: the experiment's fields in YAML, under the flags' names (camelCase works too), each
 * parsed by the same parser as its flag, so a file and a command line can never mean different things.
 * A ConfigMap mounted as a file and SIGHUP after each change lets config-sync drive the experiment:
 *
 *   primary: http://app:8080
 *   variant:
 *     - beta=http://app-beta:8080:10
 *     - { name: gamma, url: "http://app-gamma:8080", weight: 5 }
 *   sticky: cookie:podkit_variant
 *   mirror: http://app-next:8080
 *   compare: true
 *   compare-ignore: [date, $.timestamp]
 */

import { readFile } from 'node:fs/promises';
import type * as Yaml from 'yaml';
import { ConfigError } from '../../../lib/errors.js';
import { requireOnFirstUse } from '../../../lib/on-first-use.js';
import { Expected, Rejected } from '../../../lib/option-types.js';
import { flagName } from '../../../lib/options.js';
import { trafficSplitOptions } from './options.js';
import { type ExperimentKey, type ExperimentValues, experimentKeys } from './settings.js';

/** Only a split with a config file needs the parser. */
const yaml = requireOnFirstUse<typeof Yaml>('yaml', import.meta.url);

const byFieldName = new Map<string, ExperimentKey>(
  experimentKeys.flatMap((key) => [
    [flagName(key), key],
    [key, key],
  ]),
);

/** Reads the file and returns the fields it sets, parsed; throws a ConfigError naming the file and field. */
export async function readConfigFile(path: string): Promise<Partial<ExperimentValues>> {
  const fail = (message: string) => new ConfigError('configFile', `--config-file ${path}: ${message}`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const doc = yaml().parseDocument(text);
  const yamlError = doc.errors[0];
  if (yamlError) throw fail(`not valid YAML: ${yamlError.message.split('\n')[0]}`);
  const fields: unknown = doc.toJS();
  if (fields === null || fields === undefined) return {};
  if (typeof fields !== 'object' || Array.isArray(fields))
    throw fail('expected a YAML mapping of fields (primary, variant, sticky, mirror, ...)');
  const values: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(fields)) {
    const key = byFieldName.get(field);
    if (key === undefined)
      throw fail(`unknown field "${field}" (known: ${experimentKeys.map((k) => flagName(k)).join(', ')})`);
    const option = trafficSplitOptions[key];
    const raw = rawText(key, value);
    if (raw === undefined) throw fail(`${field}: expected ${describe(key)}`);
    try {
      // An empty list or an empty mirror turns the thing off, as an unset flag would.
      values[key] = raw.trim() === '' && option.kind !== 'list' ? undefined : option.parse(raw);
    } catch (err) {
      if (err instanceof Rejected) throw fail(`${field}: ${err.message}`);
      if (!(err instanceof Expected)) throw err;
      throw fail(`${field}: "${raw}" is not valid: expected ${err.message}`);
    }
  }
  return values as Partial<ExperimentValues>;
}

/** The field's YAML value as the text its flag would get; undefined when it has the wrong shape. */
function rawText(key: ExperimentKey, value: unknown): string | undefined {
  if (value === null) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (!Array.isArray(value) || trafficSplitOptions[key].kind !== 'list') return undefined;
  const items = value.map((item) => (key === 'variant' ? variantText(item) : scalarText(item)));
  return items.every((item) => item !== undefined) ? items.join(',') : undefined;
}

function scalarText(item: unknown): string | undefined {
  return typeof item === 'string' || typeof item === 'number' ? String(item) : undefined;
}

/** A variant as `name=URL:weight`, or as a mapping with those three keys. */
function variantText(item: unknown): string | undefined {
  if (typeof item === 'string') return item;
  if (item === null || typeof item !== 'object') return undefined;
  const { name, url, weight, ...rest } = item as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || typeof name !== 'string' || typeof url !== 'string') return undefined;
  if (typeof weight !== 'number' && typeof weight !== 'string') return undefined;
  return `${name}=${url}:${weight}`;
}

function describe(key: ExperimentKey): string {
  if (key === 'variant') return 'a list of name=URL:weight strings or {name, url, weight} mappings';
  return trafficSplitOptions[key].kind === 'list' ? 'a list or a comma-separated string' : 'a single value';
}
