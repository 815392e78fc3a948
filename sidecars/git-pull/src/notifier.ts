/**
 * Telling the app about a new revision (a command, an HTTP call, a signal), after publish and apart from
 * the sync loop: a slow or failing hook never delays a sync and never unpublishes anything. Each
 * notifier delivers the newest revision only: a failure is counted and retried with backoff until it
 * succeeds or a newer revision supersedes it (git-sync's hook semantics). In one-time mode each
 * revision gets one attempt, whose result decides the exit code.
 */

import { Backoff, pause } from '../../../lib/backoff.js';
import { describeError, isPodkitError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { GitPullMetrics, HookKind } from './metrics.js';

export interface Revision {
  hash: string;
  ref: string;
  /** Absolute path of the revision's worktree. */
  worktree: string;
}

export interface NotifierOptions {
  kind: HookKind;
  /** Delivers once; throws to report a failure. The signal aborts on shutdown. */
  deliver(revision: Revision, signal: AbortSignal): Promise<string>;
  log: Logger;
  metrics: GitPullMetrics;
  retry: boolean;
  backoff?: Backoff;
}

export class Notifier {
  readonly #options: NotifierOptions;
  readonly #stop = new AbortController();
  #pending: Pending | undefined;
  #running: Promise<void> | undefined;
  #superseded: AbortController | undefined;

  constructor(options: NotifierOptions) {
    this.#options = options;
  }

  get kind(): HookKind {
    return this.#options.kind;
  }

  /**
   * Delivers `revision` (retrying in the background); resolves with the result of its first attempt,
   * or false when it was superseded or stopped before one (one-time mode's exit code uses it).
   */
  notify(revision: Revision): Promise<boolean> {
    if (this.#stop.signal.aborted) return Promise.resolve(false);
    let firstResult: (ok: boolean) => void = () => {};
    const promise = new Promise<boolean>((resolve) => {
      firstResult = resolve;
    });
    this.#pending?.firstResult(false);
    this.#pending = { revision, firstResult };
    this.#superseded?.abort();
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
    return promise;
  }

  /** Stops retrying. An attempt in flight is not awaited: a command is bounded by its own timeout. */
  close(): void {
    this.#stop.abort();
    this.#superseded?.abort();
    this.#pending?.firstResult(false);
    this.#pending = undefined;
  }

  async #drain(): Promise<void> {
    while (this.#pending && !this.#stop.signal.aborted) {
      const next = this.#pending;
      this.#pending = undefined;
      await this.#deliverWithRetries(next);
    }
  }

  async #deliverWithRetries({ revision, firstResult }: Pending): Promise<void> {
    const { kind, log, metrics, retry } = this.#options;
    const backoff = this.#options.backoff ?? new Backoff({ initialMs: 1000, maxMs: 30_000 });
    for (let attempt = 1; ; attempt++) {
      try {
        const detail = await this.#options.deliver(revision, this.#stop.signal);
        metrics.hooks.inc({ hook: kind, result: 'success' });
        log.info({ hook: kind, hash: revision.hash, attempt, detail }, `${kind} done`);
        firstResult(true);
        return;
      } catch (err) {
        if (this.#stop.signal.aborted) return firstResult(false);
        metrics.hooks.inc({ hook: kind, result: 'error' });
        const willRetry = retry && !this.#pending;
        log.error(
          {
            hook: kind,
            hash: revision.hash,
            attempt,
            code: isPodkitError(err) ? err.code : undefined,
            err: describeError(err),
          },
          willRetry ? `${kind} failed; retrying (the revision stays published)` : `${kind} failed`,
        );
        firstResult(false);
        if (!willRetry) return;
      }
      this.#superseded = new AbortController();
      await pause(backoff.next(), AbortSignal.any([this.#superseded.signal, this.#stop.signal]));
      this.#superseded = undefined;
      // A newer revision replaces this one: the app needs to hear about the newest only.
      if (this.#stop.signal.aborted || this.#pending) return;
    }
  }
}

interface Pending {
  revision: Revision;
  /** Resolving twice is harmless: only the first call counts. */
  firstResult(ok: boolean): void;
}
