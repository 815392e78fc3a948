/**
 * The checks file: a YAML list of custom checks, validated entry by entry so a mistake is reported
 * with the entry's position and name (exit 2 at start, a refused reload later).
 *
 *   - name: orders-recent
 *     sql: SELECT COUNT(*) FROM shop.orders WHERE created > NOW() - INTERVAL 1 HOUR
 *     expect: { min: 1 }
 *     probes: [readiness]
 */

import type * as Yaml from 'yaml';
import { requireOnFirstUse } from '../../../lib/on-first-use.js';
import { invalid } from '../../../lib/options.js';
import { builtInNames } from './built-ins.js';
import { type CheckSpec, type ProbeName, probeNames } from './checks.js';
import type { Expectation } from './expectation.js';

/** Only a pod with a checks file needs the parser. */
const yaml = requireOnFirstUse<typeof Yaml>('yaml', import.meta.url);

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const entryKeys = ['name', 'sql', 'expect', 'probes'];
const expectKeys = ['equals', 'min', 'max', 'regex', 'rows'];

/** Thrown inside the parser; the caller adds the file and entry. */
class Problem extends Error {}

/** A checks file is a few dozen checks: far beyond that is a mistake, not configuration. */
export const maxChecksFileBytes = 1024 * 1024;

export function parseChecksFile(text: string, path: string): CheckSpec[] {
  const fail = (message: string) => invalid('checksFile', `${path}: ${message}`);
  const bytes = Buffer.byteLength(text);
  if (bytes > maxChecksFileBytes)
    throw fail(`is ${bytes} bytes, over the ${maxChecksFileBytes} a checks file may be`);
  const doc = yaml().parseDocument(text);
  const yamlError = doc.errors[0];
  if (yamlError) throw fail(`not valid YAML: ${yamlError.message.split('\n')[0]}`);
  let entries: unknown;
  try {
    // Aliases that expand past the yaml library's limit (a "billion laughs" file) throw here.
    entries = doc.toJS();
  } catch (err) {
    throw fail(`not usable YAML: ${(err as Error).message}`);
  }
  if (entries === null || entries === undefined)
    throw fail('is empty: expected a YAML list of checks (- name: ..., sql: ..., expect: ...)');
  if (!Array.isArray(entries))
    throw fail('expected a YAML list of checks (- name: ..., sql: ..., expect: ...)');
  const seen = new Set<string>();
  return entries.map((entry: unknown, index) => {
    const label = `check ${index + 1}${namedLabel(entry)}`;
    try {
      const spec = parseEntry(entry);
      if (seen.has(spec.name)) throw new Problem(`the name ${JSON.stringify(spec.name)} is used twice`);
      seen.add(spec.name);
      return spec;
    } catch (err) {
      if (err instanceof Problem) throw fail(`${label}: ${err.message}`);
      throw err;
    }
  });
}

function namedLabel(entry: unknown): string {
  const name = isRecord(entry) ? entry.name : undefined;
  return typeof name === 'string' ? ` (${JSON.stringify(name)})` : '';
}

function parseEntry(entry: unknown): CheckSpec {
  if (!isRecord(entry)) throw new Problem('expected a mapping with name, sql, expect and probes');
  const unknownKey = Object.keys(entry).find((key) => !entryKeys.includes(key));
  if (unknownKey)
    throw new Problem(`unknown key ${JSON.stringify(unknownKey)} (known: ${entryKeys.join(', ')})`);
  const { name, sql } = entry;
  if (typeof name !== 'string' || !namePattern.test(name))
    throw new Problem('name must be 1-63 letters, digits, "_", "." or "-", starting with a letter or digit');
  if ((builtInNames as readonly string[]).includes(name))
    throw new Problem(`the name ${JSON.stringify(name)} belongs to a built-in check`);
  if (typeof sql !== 'string' || sql.trim() === '') throw new Problem('sql must be a non-empty string');
  return { name, sql: sql.trim(), expect: parseExpect(entry.expect), probes: parseProbes(entry.probes) };
}

function parseProbes(raw: unknown): ProbeName[] {
  if (raw === undefined) return ['readiness'];
  const list = typeof raw === 'string' ? [raw] : raw;
  const expected = `probes must be a list of ${probeNames.join(', ')}`;
  if (!Array.isArray(list)) throw new Problem(expected);
  const probes: ProbeName[] = [];
  for (const item of list) {
    if (!(probeNames as readonly unknown[]).includes(item))
      throw new Problem(`${expected} (got ${show(item)})`);
    if (!probes.includes(item as ProbeName)) probes.push(item as ProbeName);
  }
  return probes;
}

function parseExpect(raw: unknown): Expectation {
  if (raw === undefined) return { kind: 'succeeds' };
  if (!isRecord(raw)) throw new Problem(`expect must be a mapping with one of ${expectKeys.join(', ')}`);
  const keys = Object.keys(raw);
  const unknownKey = keys.find((key) => !expectKeys.includes(key));
  if (unknownKey)
    throw new Problem(
      `expect has an unknown key ${JSON.stringify(unknownKey)} (known: ${expectKeys.join(', ')})`,
    );
  const combinable = keys.every((key) => key === 'min' || key === 'max');
  if (keys.length === 0 || (keys.length > 1 && !combinable))
    throw new Problem('expect takes one of equals, regex, rows, or min and/or max');
  if ('equals' in raw) {
    const value = raw.equals;
    if (value !== null && typeof value !== 'string' && typeof value !== 'number')
      throw new Problem(
        `expect.equals must be a string, a number or null (got ${show(value)}); write 1/0 for booleans`,
      );
    return { kind: 'equals', value };
  }
  if ('regex' in raw) {
    if (typeof raw.regex !== 'string') throw new Problem('expect.regex must be a string');
    try {
      return { kind: 'regex', pattern: new RegExp(raw.regex) };
    } catch (err) {
      throw new Problem(`expect.regex is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if ('rows' in raw) return parseRows(raw.rows);
  return { kind: 'range', ...bounds(raw, 'expect') };
}

function parseRows(raw: unknown): Expectation {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 0)
      throw new Problem(`expect.rows must be a whole number (got ${raw})`);
    return { kind: 'rows', exactly: raw };
  }
  if (!isRecord(raw)) throw new Problem('expect.rows must be a count or { min, max }');
  const unknownKey = Object.keys(raw).find((key) => key !== 'min' && key !== 'max');
  if (unknownKey)
    throw new Problem(`expect.rows has an unknown key ${JSON.stringify(unknownKey)} (known: min, max)`);
  const range = bounds(raw, 'expect.rows');
  if (range.min === undefined && range.max === undefined)
    throw new Problem('expect.rows needs a count, min or max');
  return { kind: 'rows', ...range };
}

function bounds(raw: Record<string, unknown>, where: string): { min?: number; max?: number } {
  const result: { min?: number; max?: number } = {};
  for (const key of ['min', 'max'] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new Problem(`${where}.${key} must be a number (got ${show(value)})`);
    result[key] = value;
  }
  if (result.min !== undefined && result.max !== undefined && result.min > result.max)
    throw new Problem(`${where}.min (${result.min}) is greater than ${where}.max (${result.max})`);
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  // JSON has no Infinity or NaN: it would print them as null.
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? String(value);
}
