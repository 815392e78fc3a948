/**
 * What a check expects of its query's result, and the verdict on what was observed. Pure, so every
 * kind and every edge (NULL, text where a number was expected, no rows) is table-tested.
 *
 * The value kinds (equals, min/max, regex) look at the first column of the first row; `rows` counts
 * rows; `succeeds` only needs the query to run.
 */

export type Observed = string | number | null;

export type Expectation =
  | { kind: 'succeeds' }
  | { kind: 'equals'; value: string | number | null }
  | { kind: 'range'; min?: number; max?: number }
  | { kind: 'regex'; pattern: RegExp }
  | { kind: 'rows'; exactly?: number; min?: number; max?: number };

export interface Verdict {
  ok: boolean;
  /** Why it failed, for the probe body and the log. */
  reason?: string;
}

/** The expectation as the user wrote it in the checks file, for the probe body. */
export function describeExpectation(expect: Expectation): unknown {
  switch (expect.kind) {
    case 'succeeds':
      return 'query succeeds';
    case 'equals':
      return { equals: expect.value };
    case 'range':
      return { ...(expect.min === undefined ? {} : { min: expect.min }), ...rangeMax(expect.max) };
    case 'regex':
      return { regex: expect.pattern.source };
    case 'rows':
      return {
        rows: expect.exactly ?? {
          ...(expect.min === undefined ? {} : { min: expect.min }),
          ...rangeMax(expect.max),
        },
      };
  }
}

function rangeMax(max: number | undefined): { max?: number } {
  return max === undefined ? {} : { max };
}

/** Whether the expectation reads a value (first column of the first row) rather than counting rows. */
export function readsValue(expect: Expectation): boolean {
  return expect.kind === 'equals' || expect.kind === 'range' || expect.kind === 'regex';
}

/** A value as mysql2 returns it, made JSON-safe and comparable. */
export function toObserved(value: unknown): Observed {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

export function show(value: Observed): string {
  return value === null ? 'NULL' : typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The observed value as a number, or NaN when it is not one (NULL, empty or non-numeric text). */
export function numeric(value: Observed): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

/** The verdict on a value (value kinds) or a row count (`rows`); `succeeds` always passes here. */
export function judge(expect: Expectation, observed: Observed): Verdict {
  switch (expect.kind) {
    case 'succeeds':
      return { ok: true };
    case 'equals':
      return equalsVerdict(expect.value, observed);
    case 'range':
      return rangeVerdict(expect, observed, 'observed');
    case 'regex':
      if (observed === null)
        return { ok: false, reason: `observed NULL, expected a match for /${expect.pattern.source}/` };
      return expect.pattern.test(String(observed))
        ? { ok: true }
        : { ok: false, reason: `observed ${show(observed)} does not match /${expect.pattern.source}/` };
    case 'rows':
      if (expect.exactly !== undefined && observed !== expect.exactly)
        return { ok: false, reason: `returned ${rowsText(observed)}, expected exactly ${expect.exactly}` };
      return rangeVerdict(expect, observed, 'row count');
  }
}

function equalsVerdict(expected: string | number | null, observed: Observed): Verdict {
  const ok =
    expected === null
      ? observed === null
      : typeof expected === 'number'
        ? numeric(observed) === expected
        : observed !== null && String(observed) === expected;
  return ok ? { ok } : { ok, reason: `observed ${show(observed)}, expected ${show(expected)}` };
}

function rangeVerdict(bounds: { min?: number; max?: number }, observed: Observed, what: string): Verdict {
  const value = numeric(observed);
  if (Number.isNaN(value)) return { ok: false, reason: `${what} ${show(observed)} is not a number` };
  if (bounds.min !== undefined && value < bounds.min)
    return { ok: false, reason: `${what} ${value} is below the minimum ${bounds.min}` };
  if (bounds.max !== undefined && value > bounds.max)
    return { ok: false, reason: `${what} ${value} is above the maximum ${bounds.max}` };
  return { ok: true };
}

function rowsText(count: Observed): string {
  return count === 1 ? '1 row' : `${show(count)} rows`;
}
