/**
 * Collecting the garbage of a burst of work when the burst is over, for components that work in rare
 * bursts and wait in between (git-pull: a sync runs git a few times, then nothing for --period).
 *
 * Why it is needed: with the 1 MB young generation the control planes run with, the objects a burst
 * has in flight (child processes, their streams, promises) survive two scavenges and move to old space,
 * where they stay after the burst. V8 collects old space when it reaches its allocation limit, several
 * MB above what is live, or when its memory reducer runs, which it reliably does only once, in the
 * first quiet spell after start-up. Measured in git-pull syncing every second with nothing pushed:
 * idle RSS crept from 49.6 to 51.9 MB in two minutes without a single major GC; collecting after a
 * sync whenever the heap had grown by 1 MB kept it at 50.4-51.0 MB.
 *
 * The collection is V8's own full GC, requested through `gc()`, which node exposes only with
 * `--expose-gc` (in the component's node flags, see components.ts). Without that flag this does
 * nothing, so the component still works when run with plain `node`.
 */

import { getHeapStatistics } from 'node:v8';

/** Heap growth since the last collection that is worth a full GC: about 5-15 ms for these heaps. */
const defaultThresholdBytes = 1024 * 1024;

export class BurstGarbage {
  readonly #thresholdBytes: number;
  #baseline = usedHeapBytes();
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
   * A burst is over: when the heap grew by the threshold since the last collection, a full GC runs in a
   * task of its own (execution 'async'), so the caller's answer is not delayed by it. Resolves with the
   * heap's used MB before and after when it collected (for a debug log), undefined when it did not need
   * to or cannot.
   */
  async burstOver(): Promise<{ heapUsedMb: { before: number; after: number } } | undefined> {
    const gc = globalThis.gc;
    if (!gc || this.#collecting) return undefined;
    const beforeBytes = usedHeapBytes();
    // Growth counts from the lowest point since the last collection: V8's own collections lower it too.
    this.#baseline = Math.min(this.#baseline, beforeBytes);
    if (beforeBytes - this.#baseline < this.#thresholdBytes) return undefined;
    this.#collecting = true;
    this.#collections++;
    try {
      await gc({ type: 'major', execution: 'async' });
    } finally {
      this.#baseline = usedHeapBytes();
      this.#collecting = false;
    }
    return { heapUsedMb: { before: megabytes(beforeBytes), after: megabytes(this.#baseline) } };
  }
}

function megabytes(bytes: number): number {
  return Math.round(bytes / 104857.6) / 10;
}

function usedHeapBytes(): number {
  return getHeapStatistics().used_heap_size;
}
