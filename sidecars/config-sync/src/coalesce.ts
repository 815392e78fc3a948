/**
 * Turns a stream of values into runs of `work` on the latest one: after a quiet period (`debounceMs`)
 * with no new value, one run at a time, values that arrive during a run waiting for it. A burst of edits
 * becomes one run with the last edit; a stream that never pauses still gets a run every
 * `maxWaitFactor` debounce periods, so it cannot hold changes back for ever.
 */

export class Coalescer<T> {
  #pending: { value: T; since: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  /** `work` handles its own errors: it must not reject. */
  constructor(
    private readonly work: (value: T) => Promise<void>,
    private readonly debounceMs: number,
    private readonly maxWaitFactor = 10,
  ) {}

  /** Replaces any value still waiting; the quiet period starts again. */
  offer(value: T): void {
    if (this.#closed) return;
    this.#pending = { value, since: this.#pending?.since ?? Date.now() };
    this.#schedule();
  }

  /** True while a value waits for its run. */
  get waiting(): boolean {
    return this.#pending !== undefined;
  }

  /** Drops what waits and resolves when the current run (if any) has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pending = undefined;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const pending = this.#pending;
    if (this.#running || !pending || this.#closed) return;
    const waited = Date.now() - pending.since;
    const delay = Math.max(0, Math.min(this.debounceMs, this.debounceMs * this.maxWaitFactor - waited));
    this.#timer = setTimeout(() => this.#run(), delay);
  }

  #run(): void {
    const pending = this.#pending;
    if (!pending || this.#running) return;
    this.#pending = undefined;
    this.#running = this.work(pending.value).finally(() => {
      this.#running = undefined;
      this.#schedule();
    });
  }
}
