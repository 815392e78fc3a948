/**
 * l7: HTTP/1.1 and HTTP/2 over the TLS connections, proxied to the upstream through an undici keep-alive
 * pool. ALPN picks the protocol per connection; HTTP/1.1 goes to a node http.Server (its parser enforces
 * header size, header and request timeouts, and refuses request smuggling), HTTP/2 to a node http2
 * server. Neither listens: the TLS server hands them finished connections.
 */

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type * as Http2 from 'node:http2';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ErrorCode } from '../../../lib/errors.js';
import { builtinOnFirstUse } from '../../../lib/on-first-use.js';
import type { ClientIdentity } from './client-identity.js';
import type { ProxyConfig } from './config.js';
import { sendError, writeRawError } from './error-response.js';
import { upstreamRequestHead } from './headers.js';
import type { DataPlaneMetrics } from './metrics.js';
import { type Decision, RateLimiter } from './rate-limit.js';
import { type ConnectionState, kConnection, type StatefulSocket } from './tls-server.js';
import { asClientResponse, type ClientRequest, UpstreamExchange } from './upstream-exchange.js';
import { UpstreamPool } from './upstream-pool.js';
import { UpgradeExchange } from './websocket.js';

/** Loaded with the first HTTP/2 connection: an idle proxy, or one whose clients speak HTTP/1.1, saves 0.4 MB. */
const http2 = builtinOnFirstUse<typeof Http2>('node:http2');

export interface L7Options {
  config: ProxyConfig;
  metrics: DataPlaneMetrics;
  log: Logger;
  onUpstreamRefused(): void;
}

export interface L7Server {
  onSecureConnection(socket: StatefulSocket, state: ConnectionState): void;
  /** Stop taking requests, let those in flight finish, close tunnels after `tunnelGraceMs`. */
  drain(tunnelGraceMs: number): Promise<void>;
}

export function createL7Server({ config, metrics, log, onUpstreamRefused }: L7Options): L7Server {
  const pool = new UpstreamPool(
    config.upstreamOrigin,
    {
      connections: config.upstreamConnections,
      pipelining: 1,
      connect: { timeout: config.upstreamTimeoutMs },
      headersTimeout: config.upstreamTimeoutMs,
      bodyTimeout: config.upstreamTimeoutMs,
      maxHeaderSize: 64 * 1024,
    },
    {
      onLoadFailed(err) {
        log.error(
          { code: ErrorCode.UPSTREAM, err: err.message },
          'cannot load the upstream pool: the requests waiting for it got 502; the next one tries again',
        );
      },
    },
  );
  const exchangeContext = {
    pool,
    metrics,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    closing: false,
    onUpstreamRefused,
    logError(err: Error, reason: string, request: string) {
      log.warn(
        { code: ErrorCode.UPSTREAM, reason, request, err: err.message },
        'upstream failed after the response had started',
      );
    },
  };
  const tunnels = new Set<Duplex>();
  const upgradeContext = { pool, metrics, upstreamTimeoutMs: config.upstreamTimeoutMs, tunnels };
  const limiter = config.rateLimit ? new RateLimiter() : undefined;
  const limits = config.rateLimit;
  const hsts = config.hstsMaxAge > 0 ? ['strict-transport-security', `max-age=${config.hstsMaxAge}`] : [];
  let draining = false;
  let drained: (() => void) | undefined;

  const h1Sockets = new Set<StatefulSocket>();
  const sessions = new Set<ServerHttp2Session>();
  const checkDrained = () => {
    if (draining && h1Sockets.size === 0 && sessions.size === 0) drained?.();
  };

  /** Headers every response carries; undefined when the request was answered here (403, 429). */
  function responseExtras(
    state: ConnectionState,
    hasAuthorization: boolean,
    answer: (status: number, code: ErrorCode, message: string, extra: string[]) => void,
  ): string[] | undefined {
    let extra = hsts;
    if (limiter && limits) {
      const decision = takeToken(limiter, limits, state, hasAuthorization);
      extra = [...hsts, ...rateLimitHeaders(decision)];
      if (!decision.allowed) {
        metrics.rateLimited.inc();
        answer(429, ErrorCode.RATE_LIMITED, 'too many requests', [
          ...extra,
          'retry-after',
          String(decision.retryAfterSeconds),
        ]);
        return undefined;
      }
    }
    if (state.refusal) {
      answer(403, ErrorCode.CLIENT_CERT, state.refusal.message, extra);
      return undefined;
    }
    return extra;
  }

  function onRequest(req: ClientRequest, nodeResponse: ServerResponse | Http2ServerResponse): void {
    const startedAt = performance.now();
    const res = asClientResponse(nodeResponse);
    const socket = req.socket as StatefulSocket;
    const state = socket[kConnection] ?? unknownConnection;
    const h1 = req.httpVersionMajor === 1;
    if (h1) {
      state.inFlight++;
      (nodeResponse as ServerResponse & { [kSocket]?: StatefulSocket })[kSocket] = socket;
      nodeResponse.on('close', onH1ResponseClose);
    }
    const head = upstreamRequestHead(req.rawHeaders, {
      clientAddress: state.clientAddress,
      clientCert: state.identity?.header,
    });
    const answer = (status: number, code: ErrorCode, message: string, extra: string[]) => {
      metrics.requestsByClass['4xx'].inc();
      sendError(res, status, code, message, h1 && draining ? [...extra, 'connection', 'close'] : extra);
    };
    const extra = responseExtras(state, head.hasAuthorization, answer);
    if (extra === undefined) return;
    const url = req.url ?? '';
    const method = req.method ?? 'GET';
    if (method === 'CONNECT' || url.charCodeAt(0) !== 47 /* '/' */) {
      answer(400, ErrorCode.BAD_REQUEST, 'the request target must be a path (origin-form)', extra);
      return;
    }
    const hasBody = h1 ? head.declaresBody : !(req as Http2ServerRequest).stream.endAfterHeaders;
    new UpstreamExchange(
      exchangeContext,
      req,
      res,
      { path: url, method, headers: head.headers, body: hasBody ? req : null },
      extra,
      startedAt,
    ).start();
  }

  function onH1ResponseClose(this: ServerResponse & { [kSocket]?: StatefulSocket }): void {
    // The response's own socket reference is gone by now (node detaches it): use the one kept above.
    const socket = this[kSocket];
    const state = socket?.[kConnection];
    if (!socket || !state) return;
    state.inFlight--;
    // While draining, a connection is closed as soon as its last response is out.
    if (draining && state.inFlight === 0) socket.end();
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Bytes that arrive before the tunnel exists must wait, not flow away unread.
    socket.pause();
    const tls = socket as StatefulSocket;
    const state = tls[kConnection] ?? unknownConnection;
    h1Sockets.delete(tls);
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    const requestHead = upstreamRequestHead(req.rawHeaders, {
      clientAddress: state.clientAddress,
      clientCert: state.identity?.header,
    });
    const answer = (status: number, code: ErrorCode, message: string, extra: string[]) => {
      metrics.requestsByClass['4xx'].inc();
      writeRawError(socket, status, code, message, extra);
    };
    const extra = responseExtras(state, requestHead.hasAuthorization, answer);
    if (extra === undefined) return;
    if (draining) {
      answer(503, ErrorCode.UPSTREAM, 'shutting down', extra);
      return;
    }
    new UpgradeExchange(
      upgradeContext,
      socket,
      head,
      {
        path: req.url ?? '/',
        method: req.method ?? 'GET',
        headers: requestHead.headers,
        upgrade: String(req.headers.upgrade ?? 'websocket'),
      },
      extra,
    ).start();
  }

  const h1 = createHttpServer({
    maxHeaderSize: config.maxHeaderSize,
    headersTimeout: config.headerTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(config.headerTimeoutMs / 4))),
  });
  // This server never listens (the TLS server hands it connections), and node only starts its
  // header/request timeout checks on 'listening': start them here, or slowloris goes unchecked.
  h1.emit('listening');
  h1.on('request', onRequest);
  h1.on('upgrade', onUpgrade);
  h1.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    const { status, message } = clientErrorAnswer(err.code);
    const response = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (status === 0 || !socket.writable || response?.headersSent) {
      socket.destroy();
      return;
    }
    metrics.requestsByClass['4xx'].inc();
    log.debug({ code: ErrorCode.BAD_REQUEST, err: err.code, status }, 'refused a malformed or slow request');
    writeRawError(socket, status, ErrorCode.BAD_REQUEST, message);
    socket.destroySoon();
  });

  let h2: Http2Server | undefined;
  function h2Server(): Http2Server {
    if (h2) return h2;
    h2 = http2().createServer({
      maxSessionMemory: 32,
      settings: { maxHeaderListSize: config.maxHeaderSize, maxConcurrentStreams: 256 },
    });
    if (config.idleTimeoutMs > 0) h2.setTimeout(config.idleTimeoutMs);
    h2.on('request', onRequest);
    h2.on('session', (session: ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => {
        sessions.delete(session);
        checkDrained();
      });
      if (draining) session.close();
    });
    h2.on('sessionError', () => {
      // A broken client session ends on its own; other sessions are unaffected.
    });
    return h2;
  }

  return {
    onSecureConnection(socket, state) {
      if (socket.alpnProtocol === 'h2') {
        h2Server().emit('connection', socket);
        return;
      }
      h1Sockets.add(socket);
      socket.once('close', () => {
        h1Sockets.delete(socket);
        checkDrained();
      });
      if (draining && state.inFlight === 0) {
        socket.destroy();
        return;
      }
      h1.emit('connection', socket);
    },

    async drain(tunnelGraceMs) {
      draining = true;
      exchangeContext.closing = true;
      const done = new Promise<void>((resolve) => {
        drained = resolve;
      });
      for (const session of sessions) session.close();
      h1.closeIdleConnections();
      checkDrained();
      await done;
      if (tunnels.size > 0) {
        await waitForEmpty(tunnels, tunnelGraceMs);
        for (const tunnel of tunnels) tunnel.destroy();
      }
      h1.close();
      await pool.close();
    },
  };
}

const kSocket = Symbol('podkit.tls-proxy.socket');

const unknownConnection: ConnectionState = {
  clientAddress: 'unknown',
  identity: undefined,
  refusal: { reason: 'other', message: 'connection state unknown' },
  inFlight: 0,
};

function takeToken(
  limiter: RateLimiter,
  limits: NonNullable<ProxyConfig['rateLimit']>,
  state: ConnectionState,
  hasAuthorization: boolean,
): Decision {
  const identity: ClientIdentity | undefined = state.identity;
  if (identity) {
    return limiter.take(`id:${identity.hash}`, {
      rate: limits.authenticatedRate,
      burst: limits.authenticatedBurst,
    });
  }
  // An Authorization header is not verified here, so its bucket stays per address: sending one
  // earns the higher limit, not a fresh bucket per made-up token.
  if (hasAuthorization) {
    return limiter.take(`auth:${state.clientAddress}`, {
      rate: limits.authenticatedRate,
      burst: limits.authenticatedBurst,
    });
  }
  return limiter.take(state.clientAddress, { rate: limits.rate, burst: limits.burst });
}

function rateLimitHeaders(decision: Decision): string[] {
  return [
    'x-ratelimit-limit',
    String(decision.limit),
    'x-ratelimit-remaining',
    String(decision.remaining),
    'x-ratelimit-reset',
    String(decision.resetSeconds),
  ];
}

function clientErrorAnswer(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'request header fields too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'request not received in time' };
    case 'ECONNRESET':
    case 'EPIPE':
      return { status: 0, message: '' };
    default:
      return { status: 400, message: `malformed request (${code ?? 'parse error'})` };
  }
}

function waitForEmpty(set: Set<unknown>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    const poll = setInterval(() => {
      if (set.size === 0 || Date.now() >= deadline) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
  });
}
