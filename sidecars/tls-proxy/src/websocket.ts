/**
 * HTTP/1.1 upgrades (WebSocket): the handshake goes to the upstream through the same undici pool, with
 * the same forwarded headers as any request. A 101 answer is relayed and both sockets are then piped
 * into each other; any other answer is relayed as an ordinary response and the connection closed.
 */

import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ErrorCode } from '../../../lib/errors.js';
import { writeRawError } from './error-response.js';
import { clientResponseHeaders } from './headers.js';
import type { DataPlaneMetrics } from './metrics.js';
import { statusClass } from './metrics.js';
import { upstreamErrorReason } from './upstream-exchange.js';
import type { Dispatch } from './upstream-pool.js';

export interface UpgradeContext {
  pool: Dispatch;
  metrics: DataPlaneMetrics;
  upstreamTimeoutMs: number;
  /** Open tunnels, so a drain can close them when their grace is over. */
  tunnels: Set<Duplex>;
}

export class UpgradeExchange implements Dispatcher.DispatchHandler {
  #abort: ((err?: Error) => void) | undefined;
  #responded = false;

  constructor(
    readonly ctx: UpgradeContext,
    readonly client: Duplex,
    readonly head: Buffer,
    readonly options: Dispatcher.DispatchOptions,
    readonly extraHeaders: readonly string[],
  ) {
    client.on('error', () => this.#abort?.());
    client.once('close', () => this.#abort?.());
  }

  start(): void {
    this.ctx.pool.dispatch(this.options, this);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, upstream: Duplex): void {
    this.#responded = true;
    const client = this.client;
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    const lines = [`HTTP/1.1 ${statusCode} Switching Protocols`];
    const raw = rawHeaders ?? [];
    for (let i = 0; i < raw.length; i += 2) lines.push(`${String(raw[i])}: ${String(raw[i + 1])}`);
    for (let i = 0; i < this.extraHeaders.length; i += 2) {
      lines.push(`${this.extraHeaders[i]}: ${this.extraHeaders[i + 1]}`);
    }
    client.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.ctx.metrics.requestsByClass['1xx'].inc();
    if (this.head.length > 0) upstream.write(this.head);
    tunnel(client, upstream, this.ctx.tunnels);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // The upstream declined the upgrade: relay its answer, delimited by closing the connection.
    this.#responded = true;
    const headers = clientResponseHeaders(rawHeaders, this.extraHeaders);
    const lines = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Unknown'}`, 'connection: close'];
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]?.toLowerCase() !== 'content-length') lines.push(`${headers[i]}: ${headers[i + 1]}`);
    }
    this.client.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.ctx.metrics.requestsByClass[statusClass(statusCode)].inc();
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.client.write(chunk);
  }

  onComplete(): void {
    this.client.end();
  }

  onError(err: Error & { code?: string }): void {
    const reason = upstreamErrorReason(err);
    this.ctx.metrics.upstreamErrors.inc({ reason });
    if (this.#responded) {
      this.client.destroy();
      return;
    }
    const timeout = reason === 'timeout';
    this.ctx.metrics.requestsByClass['5xx'].inc();
    writeRawError(
      this.client,
      timeout ? 504 : 502,
      timeout ? ErrorCode.UPSTREAM_TIMEOUT : ErrorCode.UPSTREAM,
      timeout
        ? `upstream did not answer within ${this.ctx.upstreamTimeoutMs} ms`
        : `upstream unavailable (${err.code ?? err.message})`,
      this.extraHeaders,
    );
  }
}

/** Pipes two sockets into each other; when either ends or fails, both are closed. */
export function tunnel(client: Duplex, upstream: Duplex, tunnels: Set<Duplex>): void {
  tunnels.add(client);
  const close = () => {
    tunnels.delete(client);
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.once('close', close);
  upstream.once('close', close);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
}
