/**
 * tls-proxy's option spec: the single source of its flags, PODKIT_* variables, defaults and docs.
 * Names given by the issue are kept as they are; the rest are what ghostunnel and nginx users reach for.
 */

import { opt } from '../../../lib/options.js';

export const tlsVersions = ['TLSv1.2', 'TLSv1.3'] as const;

/**
 * Mozilla's "intermediate" TLS 1.2 suites without the DHE ones: forward secrecy and AEAD only, so no CBC
 * (Lucky13-style padding oracles) and no RSA key exchange. ECDSA first: it is the cheaper handshake.
 */
export const intermediateCiphers = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const tlsProxyOptions = {
  listen: opt.hostPort({ default: '0.0.0.0:8443', description: 'TLS listener address.' }),
  upstream: opt.url({
    default: 'http://127.0.0.1:8080',
    protocols: ['http:', 'tcp:'],
    description:
      'Where requests go: http://host:port (l7) or tcp://host:port (l4); loopback only by default.',
  }),
  allowRemoteUpstream: opt.bool({
    description:
      'Allow an upstream that is not a loopback address (a sidecar normally forwards to localhost).',
  }),
  mode: opt.enum(['l7', 'l4'], {
    default: 'l7',
    description: 'l7 terminates TLS and proxies HTTP/1.1 and HTTP/2; l4 passes the decrypted bytes through.',
  }),
  workers: opt.int({
    default: 1,
    min: 1,
    max: 64,
    description: 'Processes serving the listener; above 1 a primary process supervises that many workers.',
  }),
  certFile: opt.file({
    required: true,
    mustExist: true,
    description: 'PEM certificate (chain) presented to clients; reloaded when it changes and on SIGHUP.',
  }),
  keyFile: opt.file({
    required: true,
    mustExist: true,
    description: 'PEM private key of the certificate; reloaded with it.',
  }),
  clientCaFile: opt.file({
    mustExist: true,
    description:
      'PEM CA bundle that client certificates must chain to (mTLS); reloaded with the certificate.',
  }),
  clientAuth: opt.enum(['none', 'request', 'require'], {
    default: 'none',
    description:
      'none: no client certificates; request: verify one when presented; require: refuse clients without one.',
  }),
  crlFile: opt.file({
    mustExist: true,
    description:
      'PEM CRL(s) of the client CA(s): a revoked client certificate is refused; reloaded with the certificate.',
  }),
  allowSubject: opt.list({
    itemName: 'type:name',
    description:
      'With --client-auth require, only client certificates with one of these: cn:NAME, dns:NAME, uri:URI, email:ADDRESS or ip:ADDRESS, each matched against that field only; empty allows any verified client.',
  }),
  minTlsVersion: opt.enum(tlsVersions, {
    default: 'TLSv1.2',
    description: 'Oldest TLS version accepted from clients.',
  }),
  ciphers: opt.string({
    default: intermediateCiphers,
    description:
      "OpenSSL cipher list for TLS 1.2, server's order preferred; the default is Mozilla's intermediate profile (ECDHE with AES-GCM or ChaCha20-Poly1305). TLS 1.3 suites are OpenSSL's.",
  }),
  ticketKeyRotation: opt.duration({
    default: '1h',
    min: '1s',
    description: 'New TLS session ticket keys this often (also at once when the client CA or CRL changes).',
  }),
  redirectListen: opt.hostPort({
    description: 'Plain-HTTP listener that redirects every request to https (off when unset).',
  }),
  redirectHttpsPort: opt.int({
    default: 443,
    min: 1,
    max: 65535,
    description: 'The https port clients reach (the Service port), used in redirect locations.',
  }),
  hstsMaxAge: opt.int({
    default: 0,
    min: 0,
    description: 'Strict-Transport-Security max-age in seconds added to every l7 response; 0 sends none.',
  }),
  upstreamTimeout: opt.duration({
    default: '30s',
    min: '1ms',
    description: 'Longest wait for the upstream to connect, answer, or send the next body chunk: then 504.',
  }),
  upstreamConnections: opt.int({
    default: 128,
    min: 1,
    max: 10_000,
    description: 'Keep-alive connections to the upstream per process.',
  }),
  maxConnections: opt.int({
    default: 1024,
    min: 0,
    description:
      'Concurrent client connections (shared among workers); more are closed at once. 0: no limit.',
  }),
  maxConnectionsPerIp: opt.int({
    default: 256,
    min: 0,
    description:
      'Concurrent client connections from one address (shared among workers); more are closed at once. 0: no limit.',
  }),
  maxHeaderSize: opt.int({
    default: 16_384,
    min: 1024,
    max: 1_048_576,
    description: 'Largest request head in bytes (HTTP/1.1 and HTTP/2); larger gets 431.',
  }),
  headerTimeout: opt.duration({
    default: '10s',
    min: '100ms',
    description: 'Time allowed for a client to send a complete request head (slowloris defence).',
  }),
  requestTimeout: opt.duration({
    default: '5m',
    description: 'Time allowed for a client to send a whole request including its body; 0: no limit.',
  }),
  keepAliveTimeout: opt.duration({
    default: '60s',
    description: 'How long an idle client connection is kept open for another request.',
  }),
  handshakeTimeout: opt.duration({
    default: '10s',
    min: '100ms',
    description: 'Time allowed for the first byte and the TLS handshake of a new connection.',
  }),
  idleTimeout: opt.duration({
    default: '10m',
    description: 'l4 tunnels and HTTP/2 sessions with no traffic this long are closed; 0: never.',
  }),
  rateLimit: opt.number({
    default: 0,
    min: 0,
    description: 'Requests per second per client address (token bucket); 0 turns rate limiting off.',
  }),
  rateLimitBurst: opt.int({
    default: 0,
    min: 0,
    description:
      'Requests a client may send at once before the rate applies; 0: twice the rate (at least 1).',
  }),
  rateLimitAuthenticated: opt.number({
    default: 0,
    min: 0,
    description:
      'Requests per second for clients with a verified mTLS identity (one bucket per certificate); 0: same as --rate-limit.',
  }),
  proxyProtocol: opt.bool({
    description: 'l4: send a PROXY protocol v2 header to the upstream with the client address.',
  }),
  acceptProxyProtocol: opt.bool({
    description:
      'Every client connection must start with a PROXY protocol header (v1 or v2), whose source address is then the client address; one without is closed. Only behind a load balancer that sends it.',
  }),
  certPollInterval: opt.duration({
    default: '30s',
    description: 'Also re-read the certificate files this often, in case file events are missed; 0: never.',
  }),
  // HTTP layer limits and header policy (l7-server.ts, lib/http-proxy).
  headersWithUnderscores: opt.enum(['allow', 'drop', 'reject'], {
    default: 'drop',
    description:
      "Request headers named with '_' (X_Forwarded_Client_Cert reads as X-Forwarded-Client-Cert to CGI-style apps): drop them, reject the request (400) or allow them.",
  }),
  xff: opt.enum(['append', 'replace'], {
    default: 'append',
    description:
      "X-Forwarded-For and Forwarded: append the client's address to what it sent, or replace it (at the edge, the upstream sees only the client's address).",
  }),
  poolWaitTimeout: opt.duration({
    default: '5s',
    description:
      'Longest a request waits for a free upstream connection (all --upstream-connections busy): then 503; 0: no bound (it waits up to --upstream-timeout in the pool).',
  }),
  clientBodyTimeout: opt.duration({
    default: '60s',
    description:
      'A request body that receives nothing for this long gets 408 and its upstream request is ended; 0: never.',
  }),
  maxRequestsPerIp: opt.int({
    default: 0,
    min: 0,
    description:
      'Requests one client address may have in flight per process; more get 429. 0: no limit (a load balancer in front shares one address).',
  }),
  maxHeaderCount: opt.int({
    default: 100,
    min: 1,
    max: 1000,
    description: 'Most header fields in a request (HTTP/1.1 and HTTP/2); more get 431.',
  }),
  maxBodySize: opt.bytes({
    default: '0',
    description:
      'Largest request body (Content-Length, or counted as it streams); larger gets 413. 0: no limit (bodies are streamed, never buffered).',
  }),
  http2MaxConcurrentStreams: opt.int({
    default: 128,
    min: 1,
    max: 10_000,
    description: 'SETTINGS_MAX_CONCURRENT_STREAMS: open streams per HTTP/2 connection; more are refused.',
  }),
  http2MaxResets: opt.int({
    default: 100,
    min: 1,
    description:
      'RST_STREAM frames a client may send per second on one HTTP/2 connection; more closes it with GOAWAY (rapid reset).',
  }),
  tunnelIdleTimeout: opt.duration({
    default: '10m',
    description:
      'Upgraded connections (WebSocket) with no traffic either way this long are closed; 0: never.',
  }),
};
