/**
 * One proxied request: an undici dispatch handler (the current controller API) that writes the
 * upstream's answer straight into the client's response (HTTP/1.1 or HTTP/2) with backpressure both
 * ways, and turns upstream failures into 502/504 with a JSON body. The response head is relayed from
 * the controller's raw header Buffers in one pass, without building header objects of its own.
 *
 * With the upstream's `slots` (a bounded pool wait), an exchange waits for a free connection at most
 * that long and is then answered 503. A caller may also end an exchange with an answer of its own
 * (`refuse`: a body too large or too slow), which stops the upstream request.
 *
 * A caller adds response headers per request (`responseHeaders`: HSTS, rate limits, a variant's name)
 * and may watch the answer (`ExchangeObserver`: status, head, body chunks, how it ended), which is how
 * a traffic split compares a primary's answer with its mirror's.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { ErrorCode } from '../errors.js';
import { sendError } from './error-response.js';
import { clientResponseHeaders } from './headers.js';
import { statusClass, type UpstreamErrorReason } from './metrics.js';
import type { SlotWaiter } from './pool-slots.js';
import { upstreamErrorReason, upstreamFailureAnswer } from './upstream-error.js';
import type { Upstream } from './upstreams.js';

export type ClientRequest = IncomingMessage | Http2ServerRequest;

/**
 * The part of node's HTTP/1.1 and HTTP/2 (compat) responses used here. Both take a flat header array in
 * writeHead (the HTTP/2 one too, which @types/node does not declare), so one type covers both.
 */
export interface ClientResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: string[]): unknown;
  write(chunk: Buffer): boolean;
  end(body?: string): unknown;
  destroy(): unknown;
  on(event: 'close', listener: (this: ClientResponse) => void): unknown;
  once(event: 'drain', listener: (this: ClientResponse) => void): unknown;
}

export function asClientResponse(res: ServerResponse | Http2ServerResponse): ClientResponse {
  return res as unknown as ClientResponse;
}

/** What every exchange of one client-facing server shares. */
export interface ExchangeContext {
  /** The client side's connections: while they drain, HTTP/1.1 answers carry `connection: close`. */
  connections: { readonly draining: boolean };
  log: Logger;
}

/** Watches one exchange; every hook is optional and called before the client sees what it is given. */
export interface ExchangeObserver {
  /** The upstream's final response head (1xx answers are not relayed, nor reported). */
  responseStart?(status: number, rawHeaders: readonly Buffer[]): void;
  responseData?(chunk: Buffer): void;
  /**
   * The exchange is over: the status the client got (0 when it got none, or a response cut short), the
   * seconds since the request head, and the upstream's failure if there was one.
   */
  end?(status: number, seconds: number, failure: UpstreamErrorReason | undefined): void;
}

const kExchange = Symbol('podkit.http-proxy.exchange');
type TaggedResponse = ClientResponse & { [kExchange]?: ProxyExchange };

/** Methods safe to send again when a kept-alive upstream connection turned out to be closed. */
const retryable = new Set(['GET', 'HEAD', 'OPTIONS']);

export class ProxyExchange implements Dispatcher.DispatchHandler, SlotWaiter {
  #controller: Dispatcher.DispatchController | undefined;
  #done = false;
  #retried = false;
  #status = 0;
  #holdsSlot = false;

  constructor(
    readonly ctx: ExchangeContext,
    readonly upstream: Upstream,
    readonly req: ClientRequest,
    readonly res: ClientResponse,
    readonly options: Dispatcher.DispatchOptions,
    /** Added to every response: HSTS, rate-limit headers, a variant's name. */
    readonly responseHeaders: readonly string[],
    readonly startedAt: number,
    readonly observer?: ExchangeObserver,
  ) {
    (res as TaggedResponse)[kExchange] = this;
    res.on('close', onClientClose);
  }

  start(): void {
    const slots = this.upstream.slots;
    if (slots === undefined || this.#holdsSlot) this.upstream.pool.dispatch(this.options, this);
    else slots.take(this);
  }

  slotGranted(): void {
    this.#holdsSlot = true;
    // The client went away or was answered while this exchange waited in line.
    if (this.#done) this.#releaseSlot();
    else this.upstream.pool.dispatch(this.options, this);
  }

  slotTimedOut(): void {
    if (this.#done) return;
    this.#done = true;
    const upstream = this.upstream;
    upstream.onPoolWaitTimeout?.();
    if (this.res.destroyed || this.res.headersSent) {
      this.observer?.end?.(0, this.#seconds(), undefined);
      return;
    }
    sendError(
      this.res,
      503,
      ErrorCode.UPSTREAM_BUSY,
      `no upstream connection came free within ${upstream.slots?.waitMs ?? 0} ms`,
      this.#responseHeaders(),
    );
    upstream.metrics.requestsByClass['5xx'].inc();
    this.#answered(503, undefined);
  }

  /**
   * Ends the exchange with the proxy's own answer (the caller counts it): the upstream request is
   * stopped; a response already started is cut short instead. HTTP/1.1 answers close the connection,
   * as the rest of a refused body is never read.
   */
  refuse(status: number, code: ErrorCode, message: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#controller?.abort(new Error(message));
    this.#releaseSlot();
    const res = this.res;
    if (res.destroyed || res.headersSent) {
      if (!res.destroyed) res.destroy();
      this.observer?.end?.(0, this.#seconds(), undefined);
      return;
    }
    const headers = this.#responseHeaders();
    sendError(
      res,
      status,
      code,
      message,
      this.req.httpVersionMajor === 1 && !this.ctx.connections.draining
        ? [...headers, 'connection', 'close']
        : headers,
    );
    this.upstream.metrics.requestsByClass[statusClass(status)].inc();
    this.#answered(status, undefined);
  }

  #releaseSlot(): void {
    if (!this.#holdsSlot) return;
    this.#holdsSlot = false;
    this.upstream.slots?.release();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#done) controller.abort(new Error('the client went away'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    // 1xx interim answers (103 Early Hints) are not relayed; the final answer follows.
    if (statusCode < 200) return;
    const res = this.res;
    if (res.headersSent || res.destroyed) {
      controller.pause();
      return;
    }
    // undici's HTTP/1.1 client hands the head over as raw Buffer pairs.
    const raw = controller.rawHeaders as Buffer[];
    this.#status = statusCode;
    this.observer?.responseStart?.(statusCode, raw);
    res.writeHead(statusCode, clientResponseHeaders(raw, this.#responseHeaders()));
    this.upstream.metrics.requestsByClass[statusClass(statusCode)].inc();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.observer !== undefined) this.observer.responseData?.(chunk);
    if (this.res.write(chunk)) return;
    controller.pause();
    this.res.once('drain', onClientDrain);
  }

  onResponseEnd(): void {
    this.#done = true;
    this.#releaseSlot();
    this.res.end();
    this.#answered(this.#status, undefined);
  }

  onResponseError(
    _controller: Dispatcher.DispatchController | undefined,
    err: Error & { code?: string },
  ): void {
    if (this.#done) return;
    const reason = upstreamErrorReason(err);
    const res = this.res;
    if (
      !this.#retried &&
      reason === 'reset' &&
      !res.headersSent &&
      !res.destroyed &&
      this.options.body == null &&
      retryable.has(this.options.method)
    ) {
      // A kept-alive connection the upstream closed just as this request went out: send it again.
      this.#retried = true;
      this.#controller = undefined;
      this.start();
      return;
    }
    this.#done = true;
    this.#releaseSlot();
    const upstream = this.upstream;
    upstream.metrics.upstreamErrors[reason].inc();
    if (reason === 'connect' && err.code === 'ECONNREFUSED') upstream.onRefused();
    if (res.destroyed) {
      this.observer?.end?.(0, this.#seconds(), reason);
      return;
    }
    if (res.headersSent) {
      // Too late for an error status: cutting the response short is the only honest signal left.
      this.ctx.log.warn(
        {
          code: ErrorCode.UPSTREAM,
          upstream: upstream.name,
          reason,
          request: `${this.options.method} ${this.options.path}`,
          err: err.message,
        },
        'upstream failed after the response had started',
      );
      res.destroy();
      this.observer?.end?.(0, this.#seconds(), reason);
      return;
    }
    const answer = upstreamFailureAnswer(reason, err, upstream.timeoutMs);
    sendError(res, answer.status, answer.code, answer.message, this.#responseHeaders());
    upstream.metrics.requestsByClass['5xx'].inc();
    this.#answered(answer.status, reason);
  }

  /** A complete answer went out: its duration is observed. */
  #answered(status: number, failure: UpstreamErrorReason | undefined): void {
    const seconds = this.#seconds();
    this.upstream.metrics.duration.observe(seconds);
    if (this.observer !== undefined) this.observer.end?.(status, seconds, failure);
  }

  #seconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  #responseHeaders(): readonly string[] {
    return this.ctx.connections.draining && this.req.httpVersionMajor === 1
      ? [...this.responseHeaders, 'connection', 'close']
      : this.responseHeaders;
  }

  /** The client went away (or the response finished): stop the upstream exchange if it still runs. */
  clientClosed(): void {
    if (this.#done) return;
    this.#done = true;
    this.#controller?.abort(new Error('the client went away'));
    this.#releaseSlot();
    this.observer?.end?.(0, this.#seconds(), undefined);
  }

  clientDrained(): void {
    this.#controller?.resume();
  }
}

function onClientClose(this: ClientResponse): void {
  (this as TaggedResponse)[kExchange]?.clientClosed();
}

function onClientDrain(this: ClientResponse): void {
  (this as TaggedResponse)[kExchange]?.clientDrained();
}
