/**
 * HTTP/1.1 upgrades (WebSocket): the handshake goes to the upstream through the same keep-alive pool,
 * with the same forwarded headers as any request. A 101 answer is relayed and both sockets are then
 * piped into each other; any other answer is relayed as an ordinary response and the connection closed.
 * With `tunnel.idleMs`, a tunnel with no bytes either way that long is closed (the client socket's own
 * inactivity timer sees both directions: it reads one and writes the other).
 */

import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { writeRawError } from './error-response.js';
import { clientResponseHeaders } from './headers.js';
import { statusClass } from './metrics.js';
import { upstreamErrorReason, upstreamFailureAnswer } from './upstream-error.js';
import type { Upstream } from './upstreams.js';

export interface TunnelOptions {
  /** Close a tunnel idle this long; 0: never. */
  idleMs: number;
  onIdle?(): void;
}

/** Whether an Upgrade header asks for WebSocket, the one upgrade a proxy relays (token, any case). */
export function isWebSocketUpgrade(upgrade: string | undefined): boolean {
  return upgrade !== undefined && upgrade.trim().toLowerCase() === 'websocket';
}

export class UpgradeExchange implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #responded = false;

  constructor(
    readonly upstream: Upstream,
    readonly client: Duplex,
    readonly head: Buffer,
    readonly options: Dispatcher.DispatchOptions,
    readonly responseHeaders: readonly string[],
    readonly tunnelOptions?: TunnelOptions,
  ) {
    const abort = () => this.#controller?.abort(new Error('the client went away'));
    client.on('error', abort);
    client.once('close', abort);
    client.on('drain', () => this.#controller?.resume());
  }

  start(): void {
    this.upstream.pool.dispatch(this.options, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    _headers: unknown,
    upstream: Duplex,
  ): void {
    this.#responded = true;
    const client = this.client;
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    const lines = [`HTTP/1.1 ${statusCode} Switching Protocols`];
    const raw = (controller.rawHeaders as Buffer[] | null) ?? [];
    for (let i = 0; i < raw.length; i += 2) lines.push(`${String(raw[i])}: ${String(raw[i + 1])}`);
    for (let i = 0; i < this.responseHeaders.length; i += 2) {
      lines.push(`${this.responseHeaders[i]}: ${this.responseHeaders[i + 1]}`);
    }
    client.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.upstream.metrics.requestsByClass['1xx'].inc();
    if (this.head.length > 0) upstream.write(this.head);
    tunnel(client, upstream, this.tunnelOptions);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    // The upstream declined the upgrade: relay its answer, delimited by closing the connection.
    this.#responded = true;
    const headers = clientResponseHeaders(controller.rawHeaders as Buffer[], this.responseHeaders);
    const lines = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Unknown'}`, 'connection: close'];
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]?.toLowerCase() !== 'content-length') lines.push(`${headers[i]}: ${headers[i + 1]}`);
    }
    this.client.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.upstream.metrics.requestsByClass[statusClass(statusCode)].inc();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.client.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.client.end();
  }

  onResponseError(
    _controller: Dispatcher.DispatchController | undefined,
    err: Error & { code?: string },
  ): void {
    const reason = upstreamErrorReason(err);
    const { metrics, timeoutMs } = this.upstream;
    metrics.upstreamErrors[reason].inc();
    if (this.#responded) {
      this.client.destroy();
      return;
    }
    const answer = upstreamFailureAnswer(reason, err, timeoutMs);
    metrics.requestsByClass['5xx'].inc();
    writeRawError(this.client, answer.status, answer.code, answer.message, this.responseHeaders);
  }
}

/** Pipes two sockets into each other; when either ends or fails, both are closed. */
function tunnel(client: Duplex, upstream: Duplex, options: TunnelOptions | undefined): void {
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  if (options !== undefined && options.idleMs > 0 && 'setTimeout' in client) {
    (client as Duplex & { setTimeout(ms: number): unknown }).setTimeout(options.idleMs);
    client.once('timeout', () => {
      options.onIdle?.();
      close();
    });
  }
  client.on('error', close);
  upstream.on('error', close);
  client.once('close', close);
  upstream.once('close', close);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
}
