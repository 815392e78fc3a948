/**
 * A request nobody waits for (a traffic split's mirror copy): sent on an upstream's own pool, bounded
 * by a deadline of its own, its answer read and thrown away (or kept up to a limit, for a comparison).
 * It never touches a client response, so however slow or broken the upstream is, no client notices.
 * Counted on the upstream's metric handles like any exchange.
 */

import type { Dispatcher } from 'undici';
import { statusClass, type UpstreamErrorReason } from './metrics.js';
import { upstreamErrorReason } from './upstream-error.js';
import type { Upstream } from './upstreams.js';

export type DetachedResult =
  | {
      ok: true;
      status: number;
      /** The response head as undici gave it: name, value, name, value. */
      rawHeaders: Buffer[];
      /** The body, or undefined when it was longer than `keepBodyBytes` (it was still read to the end). */
      body: Buffer | undefined;
      seconds: number;
    }
  | { ok: false; reason: UpstreamErrorReason; message: string; seconds: number };

export interface DetachedOptions {
  /** The whole exchange, from dispatch to the last body byte: then it is aborted as a timeout. */
  deadlineMs: number;
  /** Body bytes kept for the caller; 0 keeps none. */
  keepBodyBytes: number;
}

/** Thrown into undici when the deadline passes, so the failure reads as a timeout. */
class DeadlineExceeded extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

class DetachedRequest implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #rawHeaders: Buffer[] = [];
  #chunks: Buffer[] | undefined = [];
  #size = 0;
  #settled = false;
  readonly #timer: NodeJS.Timeout;
  readonly #startedAt = performance.now();

  constructor(
    readonly upstream: Upstream,
    readonly options: DetachedOptions,
    readonly settle: (result: DetachedResult) => void,
  ) {
    this.#timer = setTimeout(() => this.#deadline(), options.deadlineMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#settled) controller.abort(new DeadlineExceeded('deadline passed before the request started'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    if (statusCode < 200) return;
    this.#status = statusCode;
    this.#rawHeaders = (controller.rawHeaders as Buffer[] | null) ?? [];
    this.upstream.metrics.requestsByClass[statusClass(statusCode)].inc();
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#chunks === undefined) return;
    this.#size += chunk.length;
    if (this.#size > this.options.keepBodyBytes) this.#chunks = undefined;
    else this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    const seconds = this.#finish();
    this.upstream.metrics.duration.observe(seconds);
    this.settle({
      ok: true,
      status: this.#status,
      rawHeaders: this.#rawHeaders,
      body: this.#chunks ? Buffer.concat(this.#chunks, this.#size) : undefined,
      seconds,
    });
  }

  onResponseError(
    _controller: Dispatcher.DispatchController | undefined,
    err: Error & { code?: string },
  ): void {
    if (this.#settled) return;
    this.#fail(upstreamErrorReason(err), err.message);
  }

  #deadline(): void {
    if (this.#settled) return;
    this.#fail('timeout', `no complete answer within ${this.options.deadlineMs} ms`);
    this.#controller?.abort(new DeadlineExceeded('deadline passed'));
  }

  #fail(reason: UpstreamErrorReason, message: string): void {
    const seconds = this.#finish();
    this.upstream.metrics.upstreamErrors[reason].inc();
    this.settle({ ok: false, reason, message, seconds });
  }

  #finish(): number {
    this.#settled = true;
    clearTimeout(this.#timer);
    return (performance.now() - this.#startedAt) / 1000;
  }
}

/** Sends the request and resolves with what came of it; never rejects. */
export function sendDetached(
  upstream: Upstream,
  request: Dispatcher.DispatchOptions,
  options: DetachedOptions,
): Promise<DetachedResult> {
  return new Promise((resolve) => {
    upstream.pool.dispatch(request, new DetachedRequest(upstream, options, resolve));
  });
}
