/**
 * One run of one check, bounded by --check-timeout. The bound covers getting a connection and the
 * query. On timeout the check fails with "timeout" and its connection is destroyed, never returned to
 * the pool: a reply may still arrive on it, and a frozen server must not collect a connection per run.
 * A connection still being opened when the time is up is destroyed as soon as it arrives.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Check, Outcome } from './checks.js';
import { describeMysqlError, timeoutFailure } from './mysql-errors.js';
import type { ConnectionPool } from './pool.js';

export interface RunOutcome extends Outcome {
  timedOut: boolean;
}

export interface RunOptions {
  pool: ConnectionPool;
  timeoutMs: number;
  /** host:port, for error messages. */
  server: string;
  /** Aborted on shutdown: the run ends at once like a timeout. */
  signal: AbortSignal;
}

export async function runCheck(
  check: Check,
  { pool, timeoutMs, server, signal }: RunOptions,
): Promise<RunOutcome> {
  const acquiring = pool.acquire();
  let conn: Awaited<typeof acquiring> | undefined;
  const work = acquiring.then(async (acquired) => {
    conn = acquired;
    return check.run(acquired);
  });
  const deadline = new AbortController();
  const expired = sleep(timeoutMs, 'timeout' as const, {
    signal: AbortSignal.any([signal, deadline.signal]),
  }).catch(() => 'timeout' as const);
  try {
    const winner = await Promise.race([work, expired]);
    if (winner === 'timeout') {
      acquiring.then(
        (late) => pool.destroy(late),
        () => {},
      );
      work.catch(() => {});
      if (signal.aborted)
        return { ok: false, observed: null, reason: 'cancelled: shutting down', timedOut: false };
      return { ok: false, observed: null, ...timeoutFailure(timeoutMs) };
    }
    if (conn) pool.release(conn);
    return { ...winner, timedOut: false };
  } catch (err) {
    const failure = describeMysqlError(err, server, timeoutMs);
    // An SQL error (bad query, missing grant) leaves the connection usable; anything else may not.
    if (conn && isSqlError(err) && !failure.timedOut) pool.release(conn);
    else if (conn) pool.destroy(conn);
    return { ok: false, observed: null, ...failure };
  } finally {
    deadline.abort();
  }
}

function isSqlError(err: unknown): boolean {
  const { sqlState, fatal } = err as { sqlState?: unknown; fatal?: unknown };
  return typeof sqlState === 'string' && fatal !== true;
}
