/**
 * When syncs happen: one at a time, every --period, sooner on request (POST /sync), later after
 * failures (backoff from min(1s, period) up to --max-backoff, so a dead remote is not hammered by every
 * pod at once). Counts consecutive failures and gives up through `onFatal` at --max-failures. Each sync
 * has a deadline (--sync-timeout) that kills git.
 *
 * A request made while a sync is running waits for the next one: the running one may have looked at
 * the remote before the push that prompted the request.
 */

import { Backoff, pause } from '../../../lib/backoff.js';
import { describeError, ErrorCode, isPodkitError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { SyncDeadline } from './git.js';
import type { GitPullMetrics } from './metrics.js';
import type { SyncResult } from './syncer.js';

export type SyncOutcome =
  | { result: 'success' | 'noop'; hash: string; durationMs: number }
  | { result: 'error'; error: string; code: string; durationMs: number };

export interface SyncLoopOptions {
  sync(signal: AbortSignal): Promise<SyncResult>;
  /** Housekeeping after a good sync (old worktrees), run once waiting requests have their answer. */
  cleanup(signal: AbortSignal): Promise<void>;
  /**
   * A sync and its housekeeping are over, good or failed, and the loop goes on to wait; not called when
   * the loop ends instead (one-time done, too many failures, stopped). Not awaited; a failure is logged.
   */
  afterSync?(): Promise<void>;
  periodMs: number;
  syncTimeoutMs: number;
  /** -1: never give up; 0 or 1: the first failure; N: the Nth consecutive failure. */
  maxFailures: number;
  maxBackoffMs: number;
  oneTime: boolean;
  log: Logger;
  metrics: GitPullMetrics;
  onPublished(result: SyncResult): void;
  /** One-time mode: the first good sync is done (the loop has ended). */
  onOneTimeDone(outcome: SyncOutcome): void;
  /** Too many consecutive failures (the loop has ended). */
  onFatal(reason: string): void;
}

export class SyncLoop {
  readonly #options: SyncLoopOptions;
  readonly #stop = new AbortController();
  readonly #backoff: Backoff;
  #waiting: ((outcome: SyncOutcome) => void)[] = [];
  #wake: AbortController | undefined;
  #failures = 0;
  #done: Promise<void> = Promise.resolve();

  constructor(options: SyncLoopOptions) {
    this.#options = options;
    this.#backoff = new Backoff({
      initialMs: Math.min(1000, options.periodMs),
      maxMs: Math.max(options.maxBackoffMs, Math.min(1000, options.periodMs)),
    });
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  start(): void {
    this.#done = this.#run();
  }

  /** Syncs as soon as the running sync (if any) is over; resolves with that sync's outcome. */
  request(): Promise<SyncOutcome> {
    if (this.#stop.signal.aborted) return Promise.resolve(stopped());
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#wake?.abort();
    });
  }

  /** Stops: a running git is killed, waiting requests are answered, the loop ends. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#wake?.abort();
    await this.#done;
  }

  async #run(): Promise<void> {
    const { log, maxFailures, periodMs, oneTime } = this.#options;
    while (!this.#stop.signal.aborted) {
      const waiting = this.#waiting.splice(0);
      const outcome = await this.#once();
      for (const resolve of waiting) resolve(outcome);
      if (this.#stop.signal.aborted) break;
      let delay = periodMs;
      if (outcome.result === 'error') {
        if (maxFailures >= 0 && this.#failures >= Math.max(1, maxFailures)) {
          this.#options.onFatal(
            `${this.#failures} consecutive sync failures (--max-failures ${maxFailures}); the last: ${outcome.error}`,
          );
          break;
        }
        delay = this.#backoff.next();
        log.error(
          { code: outcome.code, err: outcome.error, failures: this.#failures, retryInMs: delay },
          'sync failed; the last good revision stays live',
        );
      } else {
        this.#backoff.reset();
        await this.#options.cleanup(
          AbortSignal.any([AbortSignal.timeout(this.#options.syncTimeoutMs), this.#stop.signal]),
        );
        if (oneTime) {
          this.#options.onOneTimeDone(outcome);
          break;
        }
      }
      this.#afterSync();
      if (this.#waiting.length === 0) await this.#sleep(delay);
    }
    for (const resolve of this.#waiting.splice(0)) resolve(stopped());
  }

  #afterSync(): void {
    const { afterSync, log } = this.#options;
    if (!afterSync) return;
    Promise.resolve()
      .then(afterSync)
      .catch((err) => log.warn({ err: describeError(err) }, 'after-sync housekeeping failed'));
  }

  async #sleep(ms: number): Promise<void> {
    this.#wake = new AbortController();
    await pause(ms, AbortSignal.any([this.#wake.signal, this.#stop.signal]));
    this.#wake = undefined;
  }

  async #once(): Promise<SyncOutcome> {
    const { metrics, syncTimeoutMs } = this.#options;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new SyncDeadline(syncTimeoutMs)), syncTimeoutMs);
    const started = performance.now();
    let outcome: SyncOutcome;
    try {
      const result = await this.#options.sync(AbortSignal.any([deadline.signal, this.#stop.signal]));
      const durationMs = performance.now() - started;
      outcome = { result: result.changed ? 'success' : 'noop', hash: result.hash, durationMs };
      this.#failures = 0;
      metrics.lastSuccess.setToCurrentTime();
      if (result.changed) this.#options.onPublished(result);
      else this.#options.log.debug({ hash: result.hash }, 'up to date');
    } catch (err) {
      // Stopped mid-sync: not a failure of the remote, and nothing to count.
      if (this.#stop.signal.aborted) return stopped();
      const durationMs = performance.now() - started;
      this.#failures++;
      outcome = {
        result: 'error',
        error: describeError(err),
        code: isPodkitError(err) ? err.code : ErrorCode.GIT,
        durationMs,
      };
    } finally {
      clearTimeout(timer);
    }
    metrics.syncs.inc({ result: outcome.result });
    metrics.syncDuration.observe({ result: outcome.result }, outcome.durationMs / 1000);
    metrics.consecutiveFailures.set(this.#failures);
    return outcome;
  }
}

function stopped(): SyncOutcome {
  return { result: 'error', error: 'git-pull is shutting down', code: ErrorCode.GIT, durationMs: 0 };
}
