/**
 * The primary's answer against the mirror's: status, the chosen headers, and the bodies, JSON by
 * structure (json-diff.ts) or text by line. Pure: the caller counts and keeps what it returns.
 */

import { compilePath, type Difference, jsonDiff, shortJson } from './json-diff.js';

export interface Answer {
  status: number;
  /** name, value, name, value, as undici and the exchange observer hand them over. */
  rawHeaders: readonly Buffer[];
  /** Undefined when the body was longer than the bound: then it is not compared. */
  body: Buffer | undefined;
}

export interface CompareRules {
  /** Lower-cased header names whose values must be equal. */
  headers: readonly string[];
  /** JSON paths left out. */
  ignorePaths: readonly string[];
}

export type MismatchKind = 'status' | 'header' | 'body';

export interface Mismatch {
  kinds: MismatchKind[];
  status: { primary: number; mirror: number } | undefined;
  headers: { name: string; primary: string | null; mirror: string | null }[];
  /** Body differences (JSON paths, or `line N` for text), the first few of `bodyCount`. */
  body: Difference[];
  bodyCount: number;
}

export interface Outcome {
  mismatch: Mismatch | undefined;
  /** False when a body was over the bound, so only status and headers were compared. */
  bodyCompared: boolean;
}

export class Comparison {
  readonly #patterns: ReturnType<typeof compilePath>[];

  constructor(readonly rules: CompareRules) {
    this.#patterns = rules.ignorePaths.map(compilePath);
  }

  compare(primary: Answer, mirror: Answer): Outcome {
    const kinds: MismatchKind[] = [];
    const status =
      primary.status === mirror.status ? undefined : { primary: primary.status, mirror: mirror.status };
    if (status) kinds.push('status');
    const headers: Mismatch['headers'] = [];
    for (const name of this.rules.headers) {
      const a = headerValue(primary.rawHeaders, name);
      const b = headerValue(mirror.rawHeaders, name);
      if (a !== b) headers.push({ name, primary: a, mirror: b });
    }
    if (headers.length > 0) kinds.push('header');
    const bodyCompared = primary.body !== undefined && mirror.body !== undefined;
    let body: { differences: Difference[]; count: number } = { differences: [], count: 0 };
    if (primary.body !== undefined && mirror.body !== undefined) {
      body = this.#bodies(primary, mirror, primary.body, mirror.body);
      if (body.count > 0) kinds.push('body');
    }
    if (kinds.length === 0) return { mismatch: undefined, bodyCompared };
    return {
      mismatch: { kinds, status, headers, body: body.differences, bodyCount: body.count },
      bodyCompared,
    };
  }

  #bodies(
    primary: Answer,
    mirror: Answer,
    a: Buffer,
    b: Buffer,
  ): { differences: Difference[]; count: number } {
    const json = isJson(primary.rawHeaders) && isJson(mirror.rawHeaders);
    if (json) {
      const parsed = [parseJson(a), parseJson(b)] as const;
      if (parsed[0].ok && parsed[1].ok) return jsonDiff(parsed[0].value, parsed[1].value, this.#patterns);
    }
    if (a.equals(b)) return { differences: [], count: 0 };
    return textDiff(a.toString('utf8'), b.toString('utf8'));
  }
}

/** Every value of a header, joined as one field would be; null when absent. */
export function headerValue(raw: readonly Buffer[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i] as Buffer;
    if (field.length !== name.length || field.toString('latin1').toLowerCase() !== name) continue;
    const text = (raw[i + 1] as Buffer).toString('latin1');
    value = value === null ? text : `${value}, ${text}`;
  }
  return value;
}

function isJson(raw: readonly Buffer[]): boolean {
  const type = headerValue(raw, 'content-type');
  return type !== null && /[/+]json\b/i.test(type);
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** Texts that differ: the first line that does, and how many lines do. */
function textDiff(a: string, b: string): { differences: Difference[]; count: number } {
  const left = a.split('\n');
  const right = b.split('\n');
  const differences: Difference[] = [];
  let count = 0;
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] === right[i]) continue;
    count++;
    if (differences.length > 0) continue;
    const difference: Difference = {
      path: `line ${i + 1}`,
      kind: i >= left.length ? 'added' : i >= right.length ? 'removed' : 'changed',
    };
    if (i < left.length) difference.primary = shortJson(left[i]);
    if (i < right.length) difference.mirror = shortJson(right[i]);
    differences.push(difference);
  }
  return { differences, count };
}
