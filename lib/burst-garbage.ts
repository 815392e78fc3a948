/**
 * Collecting the garbage of bursts of work, for components that work in rare bursts and wait in between
 * (git-pull: a sync runs git a few times, then nothing for --period).
 *
 * Why it is needed: with the small young generation the control planes run with, the objects a burst
 * has in flight (child processes, their streams, promises) survive two scavenges and move to old space,
 * where they stay after the burst. V8 collects old space when it reaches its allocation limit, several
 * MB above what is live, or when its memory reducer runs, which it reliably does only once, in the
 * first quiet spell after start-up; so RSS creeps up with every burst (docs/performance.md, git-pull).
 *
 * So at the end of each burst this looks at the old generation (every heap space but the young one,
 * which scavenges keep small anyway), and once it has grown by the threshold since the last collection
 * (over one burst or several), runs V8's full GC.
 *
 * The GC is requested through `gc()`, which node exposes only with `--expose-gc` (in the component's
 * node flags, see components.ts); without that flag this does nothing, so the component still works
 * when run with plain `node`.
 */

import { getHeapSpaceStatistics } from 'node:v8';

/** Old-generation growth that is worth a full GC (which runs on the main thread). */
const defaultThresholdBytes = 512 * 1024;

export class BurstGarbage {
  readonly #thresholdBytes: number;
  #baseline = oldGenerationBytes();
  #collecting = false;
  #collections = 0;

  constructor(thresholdBytes = defaultThresholdBytes) {
    this.#thresholdBytes = thresholdBytes;
  }

  /** Whether collecting is possible at all (node was started with --expose-gc). */
  static get available(): boolean {
    return typeof globalThis.gc === 'function';
  }

  /** How many collections this has asked for (for tests and the debug log). */
  get collections(): number {
    return this.#collections;
  }

  /**
   * A burst is over: when the old generation grew by the threshold since the last collection, a full GC
   * runs in a task of its own (execution 'async'), after the caller has gone on; the GC itself still
   * runs on the main thread. Resolves with the old generation's used MB before and after when it
   * collected (for a debug log), undefined when it did not need to or cannot.
   */
  async burstOver(): Promise<{ oldGenerationMb: { before: number; after: number } } | undefined> {
    const gc = globalThis.gc;
    if (!gc || this.#collecting) return undefined;
    const beforeBytes = oldGenerationBytes();
    // V8's own collections since the last one of ours lower the baseline too.
    this.#baseline = Math.min(this.#baseline, beforeBytes);
    if (beforeBytes - this.#baseline < this.#thresholdBytes) return undefined;
    this.#collecting = true;
    this.#collections++;
    try {
      await gc({ type: 'major', execution: 'async' });
    } finally {
      this.#baseline = oldGenerationBytes();
      this.#collecting = false;
    }
    return { oldGenerationMb: { before: megabytes(beforeBytes), after: megabytes(this.#baseline) } };
  }
}

function megabytes(bytes: number): number {
  return Math.round(bytes / 104857.6) / 10;
}

/** Used bytes of every heap space but the young generation's (new_space, new_large_object_space). */
function oldGenerationBytes(): number {
  let bytes = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (!space.space_name.startsWith('new_')) bytes += space.space_used_size;
  }
  return bytes;
}
