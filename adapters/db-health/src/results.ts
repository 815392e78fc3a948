/**
 * The latest result of each check, as the probes read it. Pure: a result plus an outcome gives the next
 * result, keeping what spans runs (since when a check has been failing, the last error after recovery).
 */

import type { Observed } from './expectation.js';
import type { PublicReason } from './mysql-errors.js';

export type CheckStatus = 'pending' | 'ok' | 'fail';

export interface CheckResult {
  status: CheckStatus;
  observed: Observed;
  latencyMs: number | null;
  /** The most recent failure reason; kept after the check recovers, with its time. */
  lastError: string | null;
  /** The short fixed phrase for lastError, the only part of it the probe bodies show. */
  lastReason: PublicReason | null;
  lastErrorAt: number | null;
  checkedAt: number | null;
  /** Start of the current run of failures (ms since epoch); null while passing. */
  failingSince: number | null;
}

export interface RecordedOutcome {
  ok: boolean;
  observed: Observed;
  reason?: string;
  publicReason?: PublicReason;
  /** null when the check did not run (the database was down). */
  latencyMs: number | null;
}

export function pendingResult(): CheckResult {
  return {
    status: 'pending',
    observed: null,
    latencyMs: null,
    lastError: null,
    lastReason: null,
    lastErrorAt: null,
    checkedAt: null,
    failingSince: null,
  };
}

export function nextResult(previous: CheckResult, outcome: RecordedOutcome, now: number): CheckResult {
  if (outcome.ok) {
    return {
      ...previous,
      status: 'ok',
      observed: outcome.observed,
      latencyMs: outcome.latencyMs,
      checkedAt: now,
      failingSince: null,
    };
  }
  return {
    status: 'fail',
    observed: outcome.observed,
    latencyMs: outcome.latencyMs,
    lastError: outcome.reason ?? 'failed',
    lastReason: outcome.publicReason ?? 'unexpected result',
    lastErrorAt: now,
    checkedAt: now,
    failingSince: previous.failingSince ?? now,
  };
}
