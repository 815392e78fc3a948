/**
 * One proxied request: an undici dispatch handler that writes the upstream's answer straight into the
 * client's response (HTTP/1.1 or HTTP/2) with backpressure both ways, and turns upstream failures into
 * 502/504 with a JSON body. It uses undici's raw handler interface (onConnect/onHeaders/onData/
 * onComplete/onError): headers arrive as the raw Buffer pairs and no parsed header object is built.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Dispatcher } from 'undici';
import { ErrorCode } from '../../../lib/errors.js';
import { sendError } from './error-response.js';
import { clientResponseHeaders } from './headers.js';
import type { DataPlaneMetrics, UpstreamErrorReason } from './metrics.js';
import { statusClass } from './metrics.js';
import type { Dispatch } from './upstream-pool.js';

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

export interface ExchangeContext {
  pool: Dispatch;
  metrics: DataPlaneMetrics;
  upstreamTimeoutMs: number;
  /** True once draining: HTTP/1.1 responses then carry `connection: close`. */
  closing: boolean;
  /** Called with the reason when the upstream refused a connection (readiness reacts at once). */
  onUpstreamRefused(): void;
  logError(err: Error, reason: UpstreamErrorReason, request: string): void;
}

const kExchange = Symbol('podkit.tls-proxy.exchange');
type TaggedResponse = ClientResponse & { [kExchange]?: UpstreamExchange };

/** Methods safe to send again when a kept-alive upstream connection turned out to be closed. */
const retryable = new Set(['GET', 'HEAD', 'OPTIONS']);

export class UpstreamExchange implements Dispatcher.DispatchHandler {
  #abort: ((err?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #done = false;
  #retried = false;

  constructor(
    readonly ctx: ExchangeContext,
    readonly req: ClientRequest,
    readonly res: ClientResponse,
    readonly options: Dispatcher.DispatchOptions,
    /** Added to every response: HSTS, rate-limit headers, `connection: close` while draining. */
    readonly extraHeaders: readonly string[],
    readonly startedAt: number,
  ) {
    (res as TaggedResponse)[kExchange] = this;
    res.on('close', onClientClose);
  }

  start(): void {
    this.ctx.pool.dispatch(this.options, this);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#done) abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx interim answers (103 Early Hints) are not relayed; the final answer follows.
    if (statusCode < 200) return true;
    this.#resume = resume;
    const res = this.res;
    if (res.headersSent || res.destroyed) return false;
    res.writeHead(statusCode, clientResponseHeaders(rawHeaders, this.#responseExtras()));
    this.ctx.metrics.requestsByClass[statusClass(statusCode)].inc();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', onClientDrain);
    return false;
  }

  onComplete(): void {
    this.#done = true;
    this.res.end();
    this.ctx.metrics.duration.observe((performance.now() - this.startedAt) / 1000);
  }

  onError(err: Error & { code?: string }): void {
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
      this.#abort = undefined;
      this.start();
      return;
    }
    this.#done = true;
    const { metrics } = this.ctx;
    metrics.upstreamErrors.inc({ reason });
    if (reason === 'connect' && err.code === 'ECONNREFUSED') this.ctx.onUpstreamRefused();
    if (res.destroyed) return;
    if (res.headersSent) {
      // Too late for an error status: cutting the response short is the only honest signal left.
      this.ctx.logError(err, reason, `${this.options.method} ${this.options.path}`);
      res.destroy();
      return;
    }
    const timeout = reason === 'timeout';
    const status = timeout ? 504 : 502;
    sendError(
      res,
      status,
      timeout ? ErrorCode.UPSTREAM_TIMEOUT : ErrorCode.UPSTREAM,
      timeout
        ? `upstream did not answer within ${this.ctx.upstreamTimeoutMs} ms`
        : `upstream unavailable (${err.code ?? err.message})`,
      this.#responseExtras(),
    );
    metrics.requestsByClass['5xx'].inc();
    metrics.duration.observe((performance.now() - this.startedAt) / 1000);
  }

  #responseExtras(): readonly string[] {
    return this.ctx.closing && this.req.httpVersionMajor === 1
      ? [...this.extraHeaders, 'connection', 'close']
      : this.extraHeaders;
  }

  /** The client went away (or the response finished): stop the upstream exchange if it still runs. */
  clientClosed(): void {
    if (this.#done) return;
    this.#done = true;
    this.#abort?.();
  }

  clientDrained(): void {
    this.#resume?.();
  }
}

function onClientClose(this: ClientResponse): void {
  (this as TaggedResponse)[kExchange]?.clientClosed();
}

function onClientDrain(this: ClientResponse): void {
  (this as TaggedResponse)[kExchange]?.clientDrained();
}

export function upstreamErrorReason(err: Error & { code?: string }): UpstreamErrorReason {
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'connect';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    default:
      return 'other';
  }
}
