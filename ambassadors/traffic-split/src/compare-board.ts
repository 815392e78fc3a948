/**
 * What the comparisons found: counted by result and kind, the latest mismatches kept in a bounded ring
 * for the experiment page, and a sample logged (at most one line per `logEveryMs`, with how many were
 * not logged since), so a version that differs on every request does not flood the log.
 */

import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Answer, Comparison, Mismatch } from './compare.js';

export interface MismatchEntry extends Mismatch {
  at: string;
  method: string;
  /** The request path without its query string (which may carry tokens). */
  path: string;
}

export interface CompareCounters {
  compareResults: Counter<'result'>;
  mismatches: Counter<'kind'>;
  compareBodySkipped: Pick<Counter, 'inc'>;
}

export class CompareBoard {
  readonly #recent: MismatchEntry[] = [];
  #matches = 0;
  #mismatches = 0;
  #lastLogAt = Number.NEGATIVE_INFINITY;
  #unlogged = 0;

  constructor(
    readonly counters: CompareCounters,
    readonly log: Logger,
    readonly keep = 50,
    readonly logEveryMs = 5000,
  ) {}

  record(
    comparison: Comparison,
    request: { method: string; path: string },
    primary: Answer,
    mirror: Answer,
  ): void {
    const { mismatch, bodyCompared } = comparison.compare(primary, mirror);
    if (!bodyCompared) this.counters.compareBodySkipped.inc();
    if (mismatch === undefined) {
      this.#matches++;
      this.counters.compareResults.inc({ result: 'match' });
      return;
    }
    this.#mismatches++;
    this.counters.compareResults.inc({ result: 'mismatch' });
    for (const kind of mismatch.kinds) this.counters.mismatches.inc({ kind });
    const query = request.path.indexOf('?');
    const entry: MismatchEntry = {
      at: new Date().toISOString(),
      method: request.method,
      path: query < 0 ? request.path : request.path.slice(0, query),
      ...mismatch,
    };
    this.#recent.push(entry);
    if (this.#recent.length > this.keep) this.#recent.shift();
    this.#logSample(entry);
  }

  /** Newest first. */
  recent(): MismatchEntry[] {
    return [...this.#recent].reverse();
  }

  get totals(): { matches: number; mismatches: number } {
    return { matches: this.#matches, mismatches: this.#mismatches };
  }

  #logSample(entry: MismatchEntry): void {
    const now = performance.now();
    if (now - this.#lastLogAt < this.logEveryMs) {
      this.#unlogged++;
      return;
    }
    this.#lastLogAt = now;
    const notLogged = this.#unlogged;
    this.#unlogged = 0;
    this.log.warn(
      {
        request: `${entry.method} ${entry.path}`,
        kinds: entry.kinds,
        status: entry.status,
        headers: entry.headers,
        body: entry.body.slice(0, 5),
        bodyDifferences: entry.bodyCount,
        mismatchesNotLogged: notLogged,
      },
      'the mirror answered differently from the primary',
    );
  }
}
