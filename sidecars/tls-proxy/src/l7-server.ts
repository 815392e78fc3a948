/**
 * l7: HTTP/1.1 and HTTP/2 over the TLS connections, proxied to the upstream by the shared proxy core
 * (lib/http-proxy: keep-alive pool, streaming exchange, header rewriting, 502/504). ALPN picks the
 * protocol per connection; HTTP/1.1 goes to a node http.Server (its parser enforces header size, header
 * and request timeouts, and refuses request smuggling), HTTP/2 to a node http2 server. Neither listens:
 * the TLS server hands them finished connections. What is tls-proxy's own happens here: mTLS refusals,
 * rate limits, HSTS, and the client certificate passed on in X-Forwarded-Client-Cert; and the limits on
 * what a client controls (header count, body size and pace, requests per address, HTTP/2 streams and
 * resets, tunnel idleness), each counted in limit_rejections_total when it refuses.
 */

import { createServer as createHttpServer, type IncomingMessage, ServerResponse } from 'node:http';
import type * as Http2 from 'node:http2';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ErrorCode } from '../../../lib/errors.js';
import { HttpConnections } from '../../../lib/http-drain.js';
import { sendError, writeRawError } from '../../../lib/http-proxy/error-response.js';
import { asClientResponse, type ClientRequest, ProxyExchange } from '../../../lib/http-proxy/exchange.js';
import { upstreamRequestHead } from '../../../lib/http-proxy/headers.js';
import { limitBodySize, watchBodyIdle } from '../../../lib/http-proxy/request-body.js';
import { isWebSocketUpgrade, UpgradeExchange } from '../../../lib/http-proxy/upgrade.js';
import { Upstreams } from '../../../lib/http-proxy/upstreams.js';
import { builtinOnFirstUse } from '../../../lib/on-first-use.js';
import type { ProxyConfig } from './config.js';
import { ResetGuard } from './h2-resets.js';
import type { DataPlaneMetrics, LimitName } from './metrics.js';
import { bucketOf, type Decision, RateLimiter } from './rate-limit.js';
import { RequestsPerIp } from './requests-per-ip.js';
import { type ConnectionState, kConnection, type StatefulSocket } from './tls-server.js';

/** Loaded with the first HTTP/2 connection: an idle proxy, or one whose clients speak HTTP/1.1, never holds it. */
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
  const upstreams = new Upstreams({
    onLoadFailed(_upstream, err) {
      log.error(
        { code: ErrorCode.UPSTREAM, err: err.message },
        'cannot load the upstream pool: the requests waiting for it got 502; the next one tries again',
      );
    },
  });
  const upstream = upstreams.add({
    name: 'upstream',
    origin: config.upstreamOrigin,
    connections: config.upstreamConnections,
    timeoutMs: config.upstreamTimeoutMs,
    metrics,
    onRefused: onUpstreamRefused,
    ...(config.poolWaitTimeoutMs > 0
      ? {
          poolWait: {
            timeoutMs: config.poolWaitTimeoutMs,
            onTimeout: () => metrics.limitRejected.pool_wait.inc(),
          },
        }
      : {}),
  });
  const connections = new HttpConnections();
  const exchangeContext = { connections, log };
  const limiter = config.rateLimit ? new RateLimiter() : undefined;
  const limits = config.rateLimit;
  const hsts = config.hstsMaxAge > 0 ? ['strict-transport-security', `max-age=${config.hstsMaxAge}`] : [];
  const perIp = config.maxRequestsPerIp > 0 ? new RequestsPerIp(config.maxRequestsPerIp) : undefined;
  const resets = new ResetGuard(config.http2MaxResets, () => metrics.limitRejected.h2_rapid_reset.inc());
  const forwarding = { underscores: config.headersWithUnderscores, forwardedFor: config.xff } as const;
  const { limitRejected } = metrics;

  /** Headers every response carries; undefined when the request was answered here (403, 429). */
  function responseExtras(
    state: ConnectionState,
    answer: (status: number, code: ErrorCode, message: string, extra: string[]) => void,
  ): string[] | undefined {
    let extra = hsts;
    if (limiter && limits) {
      const decision = takeToken(limiter, limits, state);
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
    if (h1) connections.requestStarted(socket, nodeResponse as ServerResponse);
    const head = upstreamRequestHead(req.rawHeaders, {
      clientAddress: state.clientAddress,
      proto: 'https',
      clientCert: state.identity?.header,
      ...forwarding,
    });
    // Every answer here comes before the body is read: an HTTP/1.1 connection with a body closes, or
    // a client that stalls its upload (or a refused one) would keep it waiting for the rest.
    const answer = (
      status: number,
      code: ErrorCode,
      message: string,
      extra: string[],
      close = head.declaresBody,
    ) => {
      metrics.requestsByClass['4xx'].inc();
      sendError(
        res,
        status,
        code,
        message,
        h1 && (close || connections.draining) ? [...extra, 'connection', 'close'] : extra,
      );
    };
    const refuse = (status: number, message: string, extra: string[]) =>
      answer(status, ErrorCode.BAD_REQUEST, message, extra, true);
    if (head.fieldCount > config.maxHeaderCount) {
      limitRejected.header_count.inc();
      refuse(431, `more than ${config.maxHeaderCount} header fields`, hsts);
      return;
    }
    if (head.underscoreHeader !== undefined) {
      limitRejected.underscore_header.inc();
      refuse(400, `header names with '_' are refused (${head.underscoreHeader})`, hsts);
      return;
    }
    const extra = responseExtras(state, answer);
    if (extra === undefined) return;
    const url = req.url ?? '';
    const method = req.method ?? 'GET';
    if (method === 'CONNECT' || url.charCodeAt(0) !== 47 /* '/' */) {
      answer(400, ErrorCode.BAD_REQUEST, 'the request target must be a path (origin-form)', extra);
      return;
    }
    const hasBody = h1 ? head.declaresBody : !(req as Http2ServerRequest).stream.endAfterHeaders;
    const maxBody = config.maxBodySize;
    if (hasBody && maxBody > 0 && head.contentLength !== undefined && Number(head.contentLength) > maxBody) {
      limitRejected.body_size.inc();
      refuse(413, `request body larger than ${maxBody} bytes`, extra);
      return;
    }
    if (perIp !== undefined && !perIp.admit(state.clientAddress, nodeResponse)) {
      limitRejected.requests_per_ip.inc();
      answer(
        429,
        ErrorCode.RATE_LIMITED,
        `more than ${perIp.max} requests in flight from one address`,
        extra,
      );
      return;
    }
    if (!h1) resets.watch(req as Http2ServerRequest);
    let body: ClientRequest | Readable | null = null;
    let exchange: ProxyExchange | undefined;
    if (hasBody) {
      body =
        maxBody > 0 && head.contentLength === undefined
          ? limitBodySize(
              req,
              maxBody,
              () => exchange,
              () => limitRejected.body_size.inc(),
            )
          : req;
    }
    exchange = new ProxyExchange(
      exchangeContext,
      upstream,
      req,
      res,
      { path: url, method, headers: head.headers, body },
      extra,
      startedAt,
    );
    if (hasBody && config.clientBodyTimeoutMs > 0) {
      watchBodyIdle(req, exchange, config.clientBodyTimeoutMs, () => limitRejected.body_idle.inc());
    }
    exchange.start();
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!isWebSocketUpgrade(req.headers.upgrade)) {
      plainRequest(req, socket);
      return;
    }
    // Bytes that arrive before the tunnel exists must wait, not flow away unread.
    socket.pause();
    const state = (socket as StatefulSocket)[kConnection] ?? unknownConnection;
    connections.upgraded(socket);
    const requestHead = upstreamRequestHead(req.rawHeaders, {
      clientAddress: state.clientAddress,
      proto: 'https',
      clientCert: state.identity?.header,
      ...forwarding,
    });
    const answer = (status: number, code: ErrorCode, message: string, extra: string[]) => {
      metrics.requestsByClass['4xx'].inc();
      writeRawError(socket, status, code, message, extra);
    };
    if (requestHead.fieldCount > config.maxHeaderCount) {
      limitRejected.header_count.inc();
      answer(431, ErrorCode.BAD_REQUEST, `more than ${config.maxHeaderCount} header fields`, hsts);
      return;
    }
    if (requestHead.underscoreHeader !== undefined) {
      limitRejected.underscore_header.inc();
      const message = `header names with '_' are refused (${requestHead.underscoreHeader})`;
      answer(400, ErrorCode.BAD_REQUEST, message, hsts);
      return;
    }
    const extra = responseExtras(state, answer);
    if (extra === undefined) return;
    if (connections.draining) {
      answer(503, ErrorCode.UPSTREAM, 'shutting down', extra);
      return;
    }
    new UpgradeExchange(
      upstream,
      socket,
      head,
      {
        path: req.url ?? '/',
        method: req.method ?? 'GET',
        headers: requestHead.headers,
        upgrade: 'websocket',
      },
      extra,
      {
        idleMs: config.tunnelIdleTimeoutMs,
        onIdle: () => limitRejected.tunnel_idle.inc(),
      },
    ).start();
  }

  /**
   * An Upgrade other than WebSocket (h2c, TLS): as nginx and Envoy do, the Upgrade header is dropped
   * and the request proxied as plain HTTP. node has already handed the connection over, so the answer
   * goes on a response made here and the connection closes after it. A body cannot be read any more:
   * such a request gets 400.
   */
  function plainRequest(req: IncomingMessage, socket: Duplex): void {
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => (socket as Socket).destroySoon());
    socket.once('close', () => res.destroy());
    socket.resume();
    const declared = req.headers['content-length'];
    if ((declared !== undefined && declared !== '0') || req.headers['transfer-encoding'] !== undefined) {
      metrics.requestsByClass['4xx'].inc();
      sendError(asClientResponse(res), 400, ErrorCode.BAD_REQUEST, 'only WebSocket upgrades are relayed', [
        'connection',
        'close',
      ]);
      return;
    }
    onRequest(req, res);
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
  // node's own count (2000, above --max-header-count's range) stays: set lower, node drops the fields
  // past it, Host included, before this server can count them.
  connections.followHttp1(h1);
  h1.on('request', onRequest);
  h1.on('upgrade', onUpgrade);
  h1.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    const { status, message, limit } = clientErrorAnswer(err.code);
    if (limit !== undefined) limitRejected[limit].inc();
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
      // Room past --max-header-count, so most excess gets a counted 431 rather than a bare reset.
      maxHeaderListPairs: config.maxHeaderCount * 2 + 8,
      settings: {
        maxHeaderListSize: config.maxHeaderSize,
        maxConcurrentStreams: config.http2MaxConcurrentStreams,
      },
    });
    if (config.idleTimeoutMs > 0) h2.setTimeout(config.idleTimeoutMs);
    connections.followHttp2(h2);
    h2.on('request', onRequest);
    h2.on('sessionError', (err: Error & { code?: string }) => {
      // A broken client session ends on its own; other sessions are unaffected.
      // node ends a session whose client opens streams past SETTINGS_MAX_CONCURRENT_STREAMS with a
      // protocol error, as it does any other protocol error: all are counted here.
      if (err.code === 'ERR_HTTP2_ERROR' || err.code === 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES') {
        limitRejected.h2_streams.inc();
      }
    });
    return h2;
  }

  return {
    onSecureConnection(socket) {
      if (socket.alpnProtocol === 'h2') {
        h2Server().emit('connection', socket);
        return;
      }
      h1.emit('connection', socket);
    },

    async drain(tunnelGraceMs) {
      await connections.drain({ tunnelGraceMs });
      // Stops the header and request timeout checks started by hand above.
      h1.close();
      await upstreams.close();
    },
  };
}

const unknownConnection: ConnectionState = {
  clientAddress: 'unknown',
  identity: undefined,
  refusal: { reason: 'other', message: 'connection state unknown' },
};

function takeToken(
  limiter: RateLimiter,
  limits: NonNullable<ProxyConfig['rateLimit']>,
  state: ConnectionState,
): Decision {
  const bucket = bucketOf(state.identity?.hash, state.clientAddress, limits);
  return limiter.take(bucket.key, bucket.limits);
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

function clientErrorAnswer(code: string | undefined): {
  status: number;
  message: string;
  limit?: LimitName;
} {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'request header fields too large', limit: 'header_size' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'request not received in time', limit: 'request_timeout' };
    case 'ECONNRESET':
    case 'EPIPE':
      return { status: 0, message: '' };
    default:
      return { status: 400, message: `malformed request (${code ?? 'parse error'})` };
  }
}
