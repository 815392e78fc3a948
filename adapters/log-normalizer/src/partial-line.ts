/**
 * The bytes of a line not yet ended by a newline, kept across reads. It holds at most the line limit
 * (plus a few bytes to cut at a character boundary); what comes beyond is counted, not kept, so one
 * endless line cannot take memory.
 */

export class PartialLine {
  #buf: Buffer = Buffer.alloc(0);
  length = 0;
  /** Bytes of this line beyond what is kept. */
  dropped = 0;

  constructor(readonly limit: number) {}

  get buffer(): Buffer {
    return this.#buf;
  }

  get empty(): boolean {
    return this.length === 0 && this.dropped === 0;
  }

  append(from: Buffer, start: number, end: number): void {
    const keep = Math.min(end - start, this.limit + 4 - this.length);
    if (keep > 0) {
      if (this.length + keep > this.#buf.length) {
        const grown = Buffer.allocUnsafe(Math.min(this.limit + 4, Math.max(256, (this.length + keep) * 2)));
        this.#buf.copy(grown, 0, 0, this.length);
        this.#buf = grown;
      }
      from.copy(this.#buf, this.length, start, start + keep);
      this.length += keep;
    }
    this.dropped += end - start - Math.max(0, keep);
  }

  clear(): void {
    this.length = 0;
    this.dropped = 0;
    // A buffer grown for a huge line is let go; a small one is kept for the next.
    if (this.#buf.length > 64 * 1024) this.#buf = Buffer.alloc(0);
  }
}
