/**
 * One mirrored request under --compare: the primary's answer, captured as it streams to the client (up
 * to the bound, through the exchange observer), and the mirror's, joined when both are in. A request
 * whose primary or mirror did not answer in full is not compared (the failure is counted where it
 * happened).
 */

import type { DetachedResult } from '../../../lib/http-proxy/detached-request.js';
import type { ExchangeObserver } from '../../../lib/http-proxy/exchange.js';
import type { UpstreamErrorReason } from '../../../lib/http-proxy/metrics.js';
import type { Answer } from './compare.js';

export class ComparePair implements ExchangeObserver {
  #status = 0;
  #rawHeaders: readonly Buffer[] = [];
  #chunks: Buffer[] | undefined = [];
  #size = 0;
  #primary: Answer | null | undefined;
  #mirror: Answer | null | undefined;

  constructor(
    readonly maxBodyBytes: number,
    readonly done: (primary: Answer, mirror: Answer) => void,
  ) {}

  responseStart(status: number, rawHeaders: readonly Buffer[]): void {
    this.#status = status;
    this.#rawHeaders = rawHeaders;
  }

  responseData(chunk: Buffer): void {
    if (this.#chunks === undefined) return;
    this.#size += chunk.length;
    // Copied: the chunk is a view of undici's read buffer, held here past the write to the client.
    if (this.#size > this.maxBodyBytes) this.#chunks = undefined;
    else this.#chunks.push(Buffer.from(chunk));
  }

  end(status: number, _seconds: number, failure: UpstreamErrorReason | undefined): void {
    const complete = status > 0 && failure === undefined && status === this.#status;
    this.#primary = complete
      ? {
          status,
          rawHeaders: this.#rawHeaders,
          body: this.#chunks ? Buffer.concat(this.#chunks, this.#size) : undefined,
        }
      : null;
    this.#chunks = undefined;
    this.#join();
  }

  mirrorSettled(result: DetachedResult | undefined): void {
    this.#mirror =
      result?.ok === true
        ? { status: result.status, rawHeaders: result.rawHeaders, body: result.body }
        : null;
    this.#join();
  }

  #join(): void {
    if (this.#primary && this.#mirror) this.done(this.#primary, this.#mirror);
  }
}
