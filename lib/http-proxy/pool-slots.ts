/**
 * A bounded wait for an upstream connection. Each exchange takes a slot (one per pooled connection)
 * before it is dispatched and gives it back when it ends; when none is free it waits in line, at most
 * `waitMs`, and is then answered by the proxy (503) instead of sitting in undici's queue until the
 * client gives up. Without it, a few clients sending slow bodies hold every connection and everyone
 * else waits in silence.
 */

export interface SlotWaiter {
  /** A slot is this waiter's: it must call `release()` once when it is done with it. */
  slotGranted(): void;
  /** No slot came free in time: the waiter answers its client itself and holds no slot. */
  slotTimedOut(): void;
}

interface Waiting {
  waiter: SlotWaiter;
  timer: NodeJS.Timeout;
  expired: boolean;
}

export class PoolSlots {
  #free: number;
  #queue: (Waiting | undefined)[] = [];
  #head = 0;

  constructor(
    readonly size: number,
    readonly waitMs: number,
  ) {
    this.#free = size;
  }

  take(waiter: SlotWaiter): void {
    if (this.#free > 0 && this.#head === this.#queue.length) {
      this.#free--;
      waiter.slotGranted();
      return;
    }
    const entry: Waiting = { waiter, timer: undefined as unknown as NodeJS.Timeout, expired: false };
    entry.timer = setTimeout(expire, this.waitMs, entry);
    this.#queue.push(entry);
  }

  /** Gives a slot back: the longest-waiting exchange still in time gets it. */
  release(): void {
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const entry = queue[this.#head] as Waiting;
      queue[this.#head++] = undefined;
      if (entry.expired) continue;
      clearTimeout(entry.timer);
      this.#compact();
      entry.waiter.slotGranted();
      return;
    }
    this.#queue = [];
    this.#head = 0;
    this.#free++;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}

function expire(entry: Waiting): void {
  entry.expired = true;
  entry.waiter.slotTimedOut();
}
