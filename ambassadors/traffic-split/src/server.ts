/**
 * The listener the app sends its requests to: plain HTTP/1.1 on node's server (its parser enforces
 * header size and timeouts and refuses request smuggling), each request routed to a version and
 * proxied by the shared core (lib/http-proxy), with a copy to the mirror when one is set.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ErrorCode } from '../../../lib/errors.js';
import { HttpConnections } from '../../../lib/http-drain.js';
import { sendError, writeRawError } from '../../../lib/http-proxy/error-response.js';
import { asClientResponse, type ExchangeObserver, ProxyExchange } from '../../../lib/http-proxy/exchange.js';
import { clientAddressOf, upstreamRequestHead } from '../../../lib/http-proxy/headers.js';
import { ComparePair } from './compare-pair.js';
import type { Split } from './split.js';

export interface ServerOptions {
  split: Split;
  log: Logger;
  preserveHost: boolean;
}

export interface SplitServer {
  server: Server;
  connections: HttpConnections;
}

export function createSplitServer({ split, log, preserveHost }: ServerOptions): SplitServer {
  const connections = new HttpConnections();
  const context = { connections, log };
  const hostFromOrigin = !preserveHost;

  function onRequest(req: IncomingMessage, nodeResponse: ServerResponse): void {
    const startedAt = performance.now();
    connections.requestStarted(req.socket, nodeResponse);
    const res = asClientResponse(nodeResponse);
    const live = split.live;
    const url = req.url ?? '';
    const method = req.method ?? 'GET';
    if (method === 'CONNECT' || url.charCodeAt(0) !== 47 /* '/' */) {
      sendError(res, 400, ErrorCode.BAD_REQUEST, 'the request target must be a path (origin-form)');
      return;
    }
    const clientAddress = clientAddressOf(req.socket.remoteAddress);
    const route = live.router.route(req.rawHeaders, clientAddress);
    const head = upstreamRequestHead(req.rawHeaders, {
      clientAddress,
      proto: 'http',
      clientCert: undefined,
      hostFromOrigin,
    });
    let body: Readable | null = head.declaresBody ? req : null;
    let observer: ExchangeObserver | undefined;
    const mirror = live.mirror;
    if (mirror?.wants()) {
      const comparison = live.comparison;
      const settings = live.settings.compare;
      const pair =
        comparison && settings
          ? new ComparePair(settings.maxBodyBytes, (primary, copy) =>
              split.board.record(comparison, { method, path: url }, primary, copy),
            )
          : undefined;
      observer = pair;
      body = mirror.copy({
        method,
        path: url,
        headers: head.headers,
        body,
        keepBodyBytes: settings?.maxBodyBytes ?? 0,
        ...(pair ? { settled: (result) => pair.mirrorSettled(result) } : {}),
      });
      // A body the primary never read to its end (it failed first, the client left) is no copy: the
      // exchange is over, so the tee is dropped (the copy counted as aborted) and the rest of the body
      // read and discarded, as node does for a body nobody reads, so the connection can go on.
      const teed = body;
      if (teed !== null && teed !== req) {
        nodeResponse.once('close', () => {
          // Once closed, the tee no longer pipes from the request (pipe's own listener ran first).
          if (!req.complete) teed.once('close', () => req.resume());
          teed.destroy();
        });
      }
    }
    new ProxyExchange(
      context,
      route.target.upstream,
      req,
      res,
      { path: url, method, headers: head.headers, body },
      route.responseHeaders,
      startedAt,
      observer,
    ).start();
  }

  const server = createServer({ maxHeaderSize: 64 * 1024, keepAliveTimeout: 65_000 });
  connections.followHttp1(server);
  server.on('request', onRequest);
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    const response = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable || response?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'request header fields too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'request not received in time']
          : [400, `malformed request (${err.code ?? 'parse error'})`];
    writeRawError(socket, status, ErrorCode.BAD_REQUEST, message);
    socket.destroySoon();
  });
  return { server, connections };
}
