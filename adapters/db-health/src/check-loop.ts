/**
 * The background loop: every --check-interval, run database-up, then (when it passed) the other checks,
 * at most pool-size at a time, each bounded by --check-timeout. Probes only read the results this loop
 * records, so a hung database costs one timed-out connection per cycle, never one per probe request.
 * When database-up fails the other checks are not run (they would each wait out the timeout against
 * the same dead server) and are recorded as failed because of it.
 */

import { pause } from '../../../lib/backoff.js';
import { ErrorCode } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { Check } from './checks.js';
import type { DbHealthMetrics, RunResult } from './metrics.js';
import type { ConnectionPool } from './pool.js';
import { type CheckResult, nextResult, pendingResult, type RecordedOutcome } from './results.js';
import { runCheck } from './run-check.js';

export interface CheckLoopOptions {
  pool: ConnectionPool;
  /** host:port, for error messages. */
  server: string;
  intervalMs: number;
  timeoutMs: number;
  /** Checks run at once after database-up: the pool size. */
  concurrency: number;
  metrics: DbHealthMetrics;
  log: Logger;
  /** Called after every recorded result (not after setChecks): probes follow each check as it ends. */
  onResult(): void;
}

export class CheckLoop {
  readonly #options: CheckLoopOptions;
  /** database-up first, then the rest. */
  #checks: readonly Check[];
  readonly #results = new Map<string, CheckResult>();
  /** What the log last said about each check, so it says it once per change, not once per run. */
  readonly #logged = new Map<string, 'failing' | 'passing'>();
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(checks: readonly Check[], options: CheckLoopOptions) {
    this.#options = options;
    this.#checks = [];
    this.setChecks(checks);
  }

  get checks(): readonly Check[] {
    return this.#checks;
  }

  get results(): ReadonlyMap<string, CheckResult> {
    return this.#results;
  }

  /** Replaces the check list (a reload): new checks start pending, removed ones disappear. */
  setChecks(checks: readonly Check[]): void {
    const names = new Set(checks.map((check) => check.name));
    for (const name of this.#results.keys()) {
      if (names.has(name)) continue;
      this.#results.delete(name);
      this.#logged.delete(name);
      this.#options.metrics.forget(name);
    }
    for (const check of checks)
      if (!this.#results.has(check.name)) this.#results.set(check.name, pendingResult());
    this.#checks = checks;
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops the loop; a check in flight is cut short and its connection destroyed. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await this.#cycle();
      } catch (err) {
        this.#options.log.error({ err }, 'check cycle failed');
      }
      await pause(Math.max(0, started + this.#options.intervalMs - Date.now()), signal);
    }
  }

  async #cycle(): Promise<void> {
    const [first, ...rest] = this.#checks;
    if (!first) return;
    if (!(await this.#run(first))) {
      const outcome: RecordedOutcome = {
        ok: false,
        observed: null,
        reason: `not run: ${first.name} failed`,
        publicReason: 'not run: database-up failed',
        latencyMs: null,
      };
      for (const check of rest) this.#record(check, outcome, 'skipped');
      return;
    }
    let next = 0;
    const worker = async () => {
      for (let check = rest[next++]; check && !this.#stop.signal.aborted; check = rest[next++])
        await this.#run(check);
    };
    await Promise.all(Array.from({ length: Math.min(this.#options.concurrency, rest.length) }, worker));
  }

  /** Runs one check and records it; true when it passed. */
  async #run(check: Check): Promise<boolean> {
    const { pool, timeoutMs, server } = this.#options;
    const started = performance.now();
    const outcome = await runCheck(check, { pool, timeoutMs, server, signal: this.#stop.signal });
    if (this.#stop.signal.aborted) return false;
    const latencyMs = performance.now() - started;
    this.#record(
      check,
      { ...outcome, latencyMs },
      outcome.ok ? 'success' : outcome.timedOut ? 'timeout' : 'failure',
    );
    return outcome.ok;
  }

  #record(check: Check, outcome: RecordedOutcome, result: RunResult): void {
    const previous = this.#results.get(check.name);
    if (!previous) return; // removed by a reload while it ran
    const next = nextResult(previous, outcome, Date.now());
    this.#results.set(check.name, next);
    const { metrics } = this.#options;
    metrics.runs.inc({ check: check.name, result });
    if (outcome.latencyMs !== null) metrics.duration.observe({ check: check.name }, outcome.latencyMs / 1000);
    this.#logTransition(check.name, next, result === 'skipped');
    this.#options.onResult();
  }

  /**
   * One line when a check starts or stops failing. Checks skipped because database-up failed are left
   * to database-up's own line, so an outage is one warning, not one per check.
   */
  #logTransition(name: string, next: CheckResult, skipped: boolean): void {
    const log = this.#options.log;
    log.debug(
      {
        check: name,
        status: next.status,
        observed: next.observed,
        latencyMs: next.latencyMs,
        ...(next.status === 'fail' ? { reason: next.lastError } : {}),
      },
      'check ran',
    );
    if (skipped) return;
    const state = next.status === 'ok' ? 'passing' : 'failing';
    if (state === (this.#logged.get(name) ?? 'passing')) return;
    this.#logged.set(name, state);
    if (state === 'failing') {
      log.warn(
        { code: ErrorCode.DB_CHECK, check: name, reason: next.lastError, observed: next.observed },
        'check failing',
      );
    } else {
      log.info({ check: name, observed: next.observed }, 'check passing');
    }
  }
}
