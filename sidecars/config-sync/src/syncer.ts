/**
 * The pipeline every snapshot goes through, one at a time:
 *
 *   debounce -> refuse unsafe keys -> same as live? done -> known bad? skip -> validate -> publish
 *     -> notify the app -> (with a health URL) healthy? accept : put the previous version back, notify
 *        again, and remember the content as bad until the source changes it
 *
 * Nothing that fails a step is ever published over a good configuration; the last good one keeps
 * serving and the reason is logged and counted.
 */

import { Backoff } from '../../../lib/backoff.js';
import { describeError, ErrorCode, isPodkitError } from '../../../lib/errors.js';
import type { HttpClient } from '../../../lib/http-client.js';
import type { Logger } from '../../../lib/log.js';
import type { AppNotifier } from '../../../lib/notify-app.js';
import { Coalescer } from './coalesce.js';
import { awaitHealthy, type HealthVerdict } from './health-gate.js';
import type { KubeletLayout } from './layout.js';
import type { SyncMetrics, SyncResult } from './metrics.js';
import { contentHash, type Files, type Refusal, type Snapshot, sanitize } from './snapshot.js';
import { checkSyntax, runValidateCommand, type ValidateMode, ValidationError } from './validate.js';

export interface SyncerOptions {
  layout: KubeletLayout;
  validateMode: ValidateMode;
  validateCommand?: string | undefined;
  validateTimeoutMs: number;
  notifier?: AppNotifier | undefined;
  health?: { url: URL; timeoutMs: number; stableMs: number; client: HttpClient } | undefined;
  debounceMs: number;
  metrics: SyncMetrics;
  log: Logger;
  /** Readiness: ok once a good configuration is live; the detail says which and how the source is. */
  readiness(ok: boolean, detail: Record<string, unknown>): void;
}

interface Version {
  generation: number;
  hash: string;
  files: Files;
}

/** Bad content remembered (by hash), oldest forgotten first. */
const maxBadHashes = 64;
/** A burst of changes never holds a publish back longer than this many debounce periods. */
const maxDebounceFactor = 10;

const short = (hash: string) => hash.slice(0, 12);

export class Syncer {
  readonly #o: SyncerOptions;
  /** What ..data shows now. */
  #live: Version | undefined;
  /** The last version accepted (published, and healthy when a health URL is set): the rollback target. */
  #good: Version | undefined;
  #generation = 0;
  readonly #bad = new Set<string>();
  readonly #queue: Coalescer<Snapshot>;
  readonly #retry = new Backoff({ initialMs: 1000, maxMs: 30_000 });
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #abort = new AbortController();
  /** The source's latest content is what is live. */
  #inSync = false;
  #ready = false;
  /** Since when the source fails; why is in the log only (an upstream's words are not for /readyz). */
  #sourceProblem: { since: string } | undefined;
  #refusalsShown = '';
  /** The last content refused by validation. */
  #invalid: { hash: string; reason: string } | undefined;
  /** Why the last snapshot was not published, for --one-time's exit reason and the log. */
  lastProblem: string | undefined;
  /**
   * The same in a few fixed words, for /readyz: anyone who reaches the admin port reads it, and the
   * full reason may quote an upstream's body, the app's health answer or a validator's output.
   */
  #shortProblem: string | undefined;

  constructor(options: SyncerOptions) {
    this.#o = options;
    this.#queue = new Coalescer((snapshot) => this.#follow(snapshot), options.debounceMs, maxDebounceFactor);
    this.#updateReadiness();
  }

  /** Adopts the version already in the target directory (a previous run, an init container). */
  async init(): Promise<void> {
    const { layout, log, metrics } = this.#o;
    try {
      const current = await layout.current();
      if (!current) return;
      this.#live = { generation: current.generation, hash: contentHash(current.files), files: current.files };
      this.#good = this.#live;
      this.#generation = current.generation;
      metrics.version.set(current.generation);
      log.info(
        { generation: current.generation, hash: short(this.#live.hash), dir: current.name },
        'found a published version; it stays until the source differs',
      );
    } catch (err) {
      log.warn({ err: describeError(err) }, 'cannot read the version in --target-dir; starting without one');
    }
  }

  /** A snapshot from the source; processed after the debounce period. */
  offer(snapshot: Snapshot): void {
    if (this.#closed) return;
    this.#sourceProblem = undefined;
    this.#queue.offer(snapshot);
  }

  /** The source confirmed that nothing changed. */
  unchanged(): void {
    this.#sourceProblem = undefined;
    if (this.#inSync) {
      this.#o.metrics.syncs.inc({ result: 'unchanged' });
      this.#succeeded();
    }
    this.#updateReadiness();
  }

  /** The source answered with something that is not configuration. */
  invalid(reason: string): void {
    this.#sourceProblem = undefined;
    this.#inSync = false;
    this.#problem(reason, 'source answer refused');
    this.#o.metrics.syncs.inc({ result: 'invalid' });
    this.#o.log.error(
      { code: ErrorCode.VALIDATION, reason },
      'source answer refused; the last good configuration stays',
    );
    this.#updateReadiness();
  }

  sourceError(err: Error): void {
    const reason = describeError(err);
    this.#sourceProblem = { since: this.#sourceProblem?.since ?? new Date().toISOString() };
    this.#problem(reason, 'cannot read the source');
    this.#o.metrics.sourceErrors.inc();
    this.#o.log.warn(
      { code: isPodkitError(err) ? err.code : ErrorCode.SOURCE, err: reason },
      'cannot read the source; the last good configuration stays',
    );
    this.#updateReadiness();
  }

  /** Forgets content marked bad or refused, so the next snapshot is tried again (SIGHUP). */
  forgetBad(): number {
    const count = this.#bad.size + (this.#invalid ? 1 : 0);
    this.#bad.clear();
    this.#invalid = undefined;
    return count;
  }

  /** --one-time: validate and publish one snapshot now, without notifying anyone. */
  async syncOnce(snapshot: Snapshot): Promise<SyncResult> {
    return this.#process(snapshot, false);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#abort.abort();
    await this.#queue.close();
  }

  /** One snapshot from the source, through the whole pipeline; a failed publish is retried with backoff. */
  async #follow(snapshot: Snapshot): Promise<void> {
    clearTimeout(this.#retryTimer);
    let result: SyncResult;
    try {
      result = await this.#process(snapshot, true);
    } catch (err) {
      this.#o.log.error({ err: describeError(err) }, 'sync failed');
      result = 'error';
    }
    if (result !== 'error') {
      this.#retry.reset();
      return;
    }
    this.#retryTimer = setTimeout(() => {
      if (!this.#queue.waiting) this.offer(snapshot);
    }, this.#retry.next());
  }

  async #process(input: Snapshot, follow: boolean): Promise<SyncResult> {
    const { files, refused } = sanitize(input);
    this.#reportRefusals(refused);
    const hash = contentHash(files);
    if (this.#bad.has(hash)) {
      this.#inSync = false;
      this.#problem(
        `content ${short(hash)} made the app unhealthy before; waiting for a change`,
        'content that made the app unhealthy before; waiting for a change',
      );
      return this.#count('known_bad');
    }
    if (this.#live?.hash === hash) {
      this.#inSync = true;
      this.#succeeded();
      return this.#count('unchanged');
    }
    this.#inSync = false;
    if (this.#invalid?.hash === hash) {
      // The same refused content again (a re-list, a poll): counted, but validated and logged only once.
      this.#problem(this.#invalid.reason, 'configuration refused');
      return this.#count('invalid');
    }
    const generation = this.#generation + 1;
    let dir: string;
    try {
      checkSyntax(files, this.#o.validateMode);
      const command = this.#o.validateCommand;
      dir = await this.#o.layout.publish(
        files,
        generation,
        command
          ? (candidate) => runValidateCommand(command, candidate, this.#o.validateTimeoutMs)
          : undefined,
      );
    } catch (err) {
      const reason = describeError(err);
      this.#problem(reason, err instanceof ValidationError ? 'configuration refused' : 'publish failed');
      if (err instanceof ValidationError) {
        this.#invalid = { hash, reason };
        this.#o.log.error(
          { code: err.code, key: err.key, reason: err.message, hash: short(hash) },
          'configuration refused: not published; the last good one stays',
        );
        return this.#count('invalid');
      }
      this.#o.log.error(
        { code: isPodkitError(err) ? err.code : ErrorCode.PUBLISH, err: this.lastProblem },
        'publish failed; the last good configuration stays',
      );
      return this.#count('error');
    }
    this.#generation = generation;
    const version: Version = { generation, hash, files };
    this.#setLive(version);
    this.#o.log.info({ generation, hash: short(hash), files: files.size, dir }, 'published');
    if (follow) {
      const notified = await this.#notify('change');
      const health = this.#o.health;
      // An app that could not be told (not started yet) reads the files when it starts: nothing to judge.
      if (health && notified) {
        const verdict = await awaitHealthy({ ...health, signal: this.#abort.signal });
        if (this.#closed) return this.#count('published');
        if (!verdict.healthy) return this.#rollBack(version, verdict);
        this.#o.log.info({ generation, checks: verdict.checks }, 'the app is healthy with the new version');
      }
    }
    this.#good = version;
    this.#inSync = true;
    this.#succeeded();
    return this.#count('published');
  }

  async #rollBack(bad: Version, verdict: HealthVerdict): Promise<SyncResult> {
    const { log, layout, metrics } = this.#o;
    this.#markBad(bad.hash);
    const previous = this.#good;
    const facts = {
      code: ErrorCode.ROLLBACK,
      generation: bad.generation,
      hash: short(bad.hash),
      health: verdict.last,
    };
    if (!previous) {
      this.#problem(
        `the app is not healthy with generation ${bad.generation}: ${verdict.last}`,
        `the app is not healthy with generation ${bad.generation}`,
      );
      log.error(
        facts,
        'the app is not healthy after the reload and there is no previous version to put back',
      );
      this.#ready = false;
      this.#updateReadiness();
      return this.#count('unhealthy');
    }
    try {
      await layout.publish(previous.files, previous.generation);
    } catch (err) {
      this.#problem(describeError(err), 'rollback failed');
      log.error({ ...facts, err: this.lastProblem }, 'rollback failed: the unhealthy version is still live');
      return this.#count('error');
    }
    this.#setLive(previous);
    metrics.rollbacks.inc();
    this.#problem(
      `generation ${bad.generation} rolled back: ${verdict.last}`,
      `generation ${bad.generation} rolled back: the app was not healthy`,
    );
    log.error(
      { ...facts, restored: previous.generation },
      'rolled back: the app was not healthy after the reload; this content is not retried until the source changes it',
    );
    await this.#notify('rollback');
    return this.#count('rolled_back');
  }

  #setLive(version: Version): void {
    this.#live = version;
    this.#o.metrics.publishes.inc();
    this.#o.metrics.version.set(version.generation);
  }

  /** True when the app was told, or watches the files itself (no notifier). */
  async #notify(why: 'change' | 'rollback'): Promise<boolean> {
    const { notifier, metrics, log } = this.#o;
    if (!notifier) return true;
    if (this.#closed) return false;
    try {
      const result = await notifier.notify(this.#abort.signal);
      metrics.notifications.inc({ result: 'success' });
      log.info({ ...result, why }, 'notified the app');
      return true;
    } catch (err) {
      metrics.notifications.inc({ result: 'failure' });
      log.warn(
        {
          code: isPodkitError(err) ? err.code : ErrorCode.SIGNAL,
          err: describeError(err),
          why,
          target: notifier.target,
        },
        'could not notify the app; the files are published',
      );
      return false;
    }
  }

  #markBad(hash: string): void {
    this.#bad.add(hash);
    if (this.#bad.size > maxBadHashes) this.#bad.delete(this.#bad.values().next().value as string);
  }

  /** Logs and counts refused keys when the set changes, not on every re-read of the same content. */
  #reportRefusals(refused: Refusal[]): void {
    const shown = JSON.stringify(refused);
    if (shown === this.#refusalsShown) return;
    this.#refusalsShown = shown;
    for (const { key, reason, kind } of refused) {
      this.#o.metrics.refusedKeys.inc({ reason: kind });
      this.#o.log.warn({ code: ErrorCode.UNSAFE_KEY, key, reason }, 'key refused: not published');
    }
  }

  #count(result: SyncResult): SyncResult {
    this.#o.metrics.syncs.inc({ result });
    if (result === 'published' || result === 'unchanged') this.#problem(undefined, undefined);
    this.#updateReadiness();
    return result;
  }

  #problem(full: string | undefined, short: string | undefined): void {
    this.lastProblem = full;
    this.#shortProblem = short;
  }

  #succeeded(): void {
    this.#o.metrics.lastSuccess.at = Date.now();
    this.#ready = true;
  }

  #updateReadiness(): void {
    const live = this.#live;
    const source = this.#sourceProblem
      ? `failing since ${this.#sourceProblem.since}: cannot read the source (see the log)`
      : 'ok';
    if (!this.#ready) {
      this.#o.readiness(false, { reason: this.#shortProblem ?? 'waiting for the first sync', source });
      return;
    }
    // Once a good configuration is live, a source outage does not make the pod unready: the app is
    // serving with it. The outage shows here, in the logs and in last_success_age_seconds.
    this.#o.readiness(true, {
      generation: live?.generation,
      hash: live ? short(live.hash) : undefined,
      source,
    });
  }
}
