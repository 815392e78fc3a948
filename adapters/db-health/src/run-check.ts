/**
 * One run of one check, bounded by --check-timeout. The bound covers getting a connection and the
 * query. On timeout the check fails with "timeout" and its connection is destroyed, never returned to
 * the pool: a reply may still arrive on it, and a frozen server must not collect a connection per run.
 * A connection still being opened when the time is up is destroyed as soon as it arrives.
 */

import type { Check, Outcome } from './checks.js';
import { describeMysqlError, type PublicReason, timeoutFailure } from './mysql-errors.js';
import type { ConnectionPool } from './pool.js';

export interface RunOutcome extends Outcome {
  timedOut: boolean;
  /** The fixed phrase the probe bodies show when it failed; `reason` (with server text) is for the log. */
  publicReason?: PublicReason;
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
  const limit = deadline(timeoutMs, signal);
  try {
    const winner = await Promise.race([work, limit.expired]);
    if (winner === 'timeout') {
      acquiring.then(
        (late) => pool.destroy(late),
        () => {},
      );
      work.catch(() => {});
      if (signal.aborted)
        return {
          ok: false,
          observed: null,
          reason: 'cancelled: shutting down',
          publicReason: 'shutting down',
          timedOut: false,
        };
      return { ok: false, observed: null, ...timeoutFailure(timeoutMs) };
    }
    if (conn) pool.release(conn);
    // The check ran but did not like what it saw (a value, a state): the details stay in the log.
    return winner.ok
      ? { ...winner, timedOut: false }
      : { ...winner, publicReason: 'unexpected result', timedOut: false };
  } catch (err) {
    const failure = describeMysqlError(err, server, timeoutMs);
    // An SQL error (bad query, missing grant) leaves the connection usable; anything else may not.
    if (conn && isSqlError(err) && !failure.timedOut) pool.release(conn);
    else if (conn) pool.destroy(conn);
    return { ok: false, observed: null, ...failure };
  } finally {
    limit.cancel();
  }
}

/**
 * Resolves with 'timeout' after `ms`, or at once when `signal` aborts; cancel() drops the timer and the
 * listener, so a long-lived shutdown signal does not collect one listener per run.
 */
function deadline(ms: number, signal: AbortSignal): { expired: Promise<'timeout'>; cancel(): void } {
  let cancel = () => {};
  const expired = new Promise<'timeout'>((resolve) => {
    const fire = () => resolve('timeout');
    const timer = setTimeout(fire, ms);
    signal.addEventListener('abort', fire, { once: true });
    if (signal.aborted) fire();
    cancel = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', fire);
    };
  });
  return { expired, cancel };
}

function isSqlError(err: unknown): boolean {
  const { sqlState, fatal } = err as { sqlState?: unknown; fatal?: unknown };
  return typeof sqlState === 'string' && fatal !== true;
}
