/**
 * Records out: serialised records are appended to a batch buffer, and a full batch (or the end of a
 * read) is one write to stdout. A write that the stream cannot take at once makes the output congested:
 * readers wait on drained() before reading more, so a slow stdout pauses reading instead of filling
 * memory. When a batch has reached the kernel (the write's callback), the read positions it covered are
 * committed: only those are checkpointed, so a restart neither loses nor repeats records.
 */

import type { Writable } from 'node:stream';

/** What a batch's records were read from: its committed offset moves when the batch is written. */
export interface Committable {
  committed: number;
}

interface Mark {
  cursor: Committable;
  offset: number;
}

const defaultBatchBytes = 256 * 1024;
/** Spare batch buffers kept for reuse, so a busy output does not allocate one per write. */
const spareLimit = 4;

export class Output {
  buf: Buffer;
  pos = 0;
  #marks: Mark[] = [];
  readonly #spare: Buffer[] = [];
  #inFlight = 0;
  #congested = false;
  #failed: Error | undefined;
  readonly #waiters: (() => void)[] = [];
  readonly #idleWaiters: (() => void)[] = [];
  /** Bytes handed to the stream so far. */
  bytesWritten = 0;
  /** Milliseconds spent congested before the current congestion, for the metric. */
  #blockedMs = 0;
  #blockedSince = 0;

  constructor(
    readonly stream: Writable,
    readonly batchBytes = defaultBatchBytes,
    readonly onError: (err: Error) => void = () => {},
  ) {
    this.buf = Buffer.allocUnsafe(batchBytes);
    stream.on('drain', () => this.#drained());
    stream.on('error', (err: Error) => this.#fail(err));
  }

  get failed(): Error | undefined {
    return this.#failed;
  }

  /** True while the stream has more than it can take: stop reading until drained(). */
  get congested(): boolean {
    return this.#congested;
  }

  /** Where the record being written starts: a batch is only ever sent up to here, never in a record. */
  #recordStart = 0;

  /** A record starts at `pos`. */
  beginRecord(): void {
    this.#recordStart = this.pos;
  }

  /**
   * Makes room for `bytes` more at `pos`: the batch so far is sent, up to the record being written,
   * whose first bytes move to the new batch, so that a write (and so a crash after it) never splits a
   * record.
   */
  reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const start = this.#recordStart;
    const tail = this.pos - start;
    const old = this.buf;
    const size = Math.max(this.batchBytes, tail + bytes);
    const next =
      size === this.batchBytes ? (this.#spare.pop() ?? Buffer.allocUnsafe(size)) : Buffer.allocUnsafe(size);
    old.copy(next, 0, start, this.pos);
    this.#send(old, start);
    this.buf = next;
    this.pos = tail;
    this.#recordStart = 0;
  }

  /** Appends a serialised record (with its newline). */
  writeString(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.pos + text.length * 3 > this.buf.length) this.reserve(Buffer.byteLength(text));
    this.pos += this.buf.write(text, this.pos);
  }

  /** The records appended since the last mark came from `cursor`, up to `offset`; a record ends here. */
  mark(cursor: Committable, offset: number): void {
    this.#recordStart = this.pos;
    const last = this.#marks[this.#marks.length - 1];
    if (last && last.cursor === cursor) last.offset = offset;
    else this.#marks.push({ cursor, offset });
  }

  /** Sends the current batch, if it holds anything (between records). */
  flush(): void {
    // Marks without bytes (lines that made no record) wait for the next batch: committing them now
    // could pass records still in flight.
    if (this.pos === 0) return;
    const batch = this.buf;
    const length = this.pos;
    this.buf = this.#spare.pop() ?? Buffer.allocUnsafe(this.batchBytes);
    this.pos = 0;
    this.#recordStart = 0;
    this.#send(batch, length);
  }

  /** Writes bytes [0, length) of `batch` with the marks so far; the batch is reused once written. */
  #send(batch: Buffer, length: number): void {
    const marks = this.#marks;
    this.#marks = [];
    if (this.#failed || length === 0) {
      if (length === 0) this.#marks = marks;
      return;
    }
    this.#inFlight++;
    this.bytesWritten += length;
    const accepted = this.stream.write(batch.subarray(0, length), (err) => {
      this.#inFlight--;
      if (err) {
        this.#fail(err);
      } else {
        this.#commit(marks);
        if (batch.length === this.batchBytes && this.#spare.length < spareLimit) this.#spare.push(batch);
      }
      if (this.#inFlight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    });
    if (!accepted && !this.#congested) {
      this.#congested = true;
      this.#blockedSince = performance.now();
    }
  }

  /** Resolves when the stream can take more (at once when it can). */
  drained(): Promise<void> {
    if (!this.#congested || this.#failed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Flushes, then resolves once every batch has reached the stream's destination (or failed). */
  async settled(): Promise<void> {
    this.flush();
    if (this.#inFlight === 0 || this.#failed) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #commit(marks: readonly Mark[]): void {
    for (const { cursor, offset } of marks) if (offset > cursor.committed) cursor.committed = offset;
  }

  /** Seconds spent congested so far, the current congestion included. */
  blockedSeconds(): number {
    return (this.#blockedMs + (this.#congested ? performance.now() - this.#blockedSince : 0)) / 1000;
  }

  #drained(): void {
    if (this.#congested) this.#blockedMs += performance.now() - this.#blockedSince;
    this.#congested = false;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    this.#drained();
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    this.onError(err);
  }
}
