/**
 * A check: a name, the probes it gates, and a run on a connection that returns what it observed and
 * whether that is acceptable. Custom checks come from the checks file; built-ins (built-ins.ts) use the
 * same shape, so the loop, the probes and the metrics treat them alike.
 */

import {
  describeExpectation,
  type Expectation,
  judge,
  type Observed,
  readsValue,
  toObserved,
} from './expectation.js';

import type { ProbeName } from './options.js';

export { type ProbeName, probeNames } from './options.js';

/** The part of a mysql2/promise connection a check uses. */
export interface Queryable {
  query(options: { sql: string; rowsAsArray?: boolean }): Promise<[unknown, unknown]>;
}

export interface Outcome {
  ok: boolean;
  /** What the check saw (a value, a row count, a state); null when it saw nothing. */
  observed: Observed;
  reason?: string;
}

export interface Check {
  readonly name: string;
  readonly probes: readonly ProbeName[];
  /** The expectation as shown in the probe body. */
  readonly expected: unknown;
  run(conn: Queryable): Promise<Outcome>;
}

export interface CheckSpec {
  name: string;
  sql: string;
  expect: Expectation;
  probes: ProbeName[];
}

export function customCheck(spec: CheckSpec): Check {
  return {
    name: spec.name,
    probes: spec.probes,
    expected: describeExpectation(spec.expect),
    async run(conn) {
      const [result] = await conn.query({ sql: spec.sql, rowsAsArray: true });
      // A statement that returns no result set (SET, DO) gives an OkPacket, not rows.
      const rows = Array.isArray(result) ? (result as unknown[][]) : [];
      if (spec.expect.kind === 'rows') return withVerdict(spec.expect, rows.length);
      if (!readsValue(spec.expect)) return { ok: true, observed: Array.isArray(result) ? rows.length : null };
      const first = rows[0];
      if (!first) return { ok: false, observed: null, reason: 'the query returned no rows' };
      return withVerdict(spec.expect, toObserved(first[0]));
    },
  };
}

function withVerdict(expect: Expectation, observed: Observed): Outcome {
  const verdict = judge(expect, observed);
  return { ok: verdict.ok, observed, ...(verdict.reason === undefined ? {} : { reason: verdict.reason }) };
}
