/**
 * The data plane's settings as plain data: built once from the parsed options, and sent as-is to worker
 * processes (which never parse options themselves, so every worker runs exactly what the primary
 * validated). Also the cross-option checks, which run before anything listens.
 */

import { isIP } from 'node:net';
import { createSecureContext, DEFAULT_CIPHERS } from 'node:tls';
import type { ComponentOptions } from '../../../lib/component.js';
import { invalid } from '../../../lib/options.js';
import { allowSubjectKeys } from './client-identity.js';
import { intermediateCiphers, type tlsProxyOptions } from './options.js';

export type TlsProxyOptions = ComponentOptions<typeof tlsProxyOptions>;

export interface Endpoint {
  host: string;
  port: number;
}

export interface ProxyConfig {
  mode: 'l7' | 'l4';
  listen: Endpoint;
  redirectListen: Endpoint | undefined;
  redirectHttpsPort: number;
  upstream: Endpoint;
  /** `http://host:port`, the undici pool's origin (l7). */
  upstreamOrigin: string;
  clientAuth: 'none' | 'request' | 'require';
  /** Typed keys (`dns:name`, ...) from --allow-subject, see client-identity.ts. */
  allowSubjects: string[];
  minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
  ciphers: string;
  hstsMaxAge: number;
  upstreamTimeoutMs: number;
  upstreamConnections: number;
  /** Per process: the option's total divided among the workers. 0: no limit. */
  maxConnections: number;
  /** Per process, as maxConnections. 0: no limit. */
  maxConnectionsPerIp: number;
  maxHeaderSize: number;
  headerTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  rateLimit:
    | { rate: number; burst: number; authenticatedRate: number; authenticatedBurst: number }
    | undefined;
  proxyProtocol: boolean;
  acceptProxyProtocol: boolean;
  // HTTP layer limits and header policy (l7-server.ts, lib/http-proxy).
  headersWithUnderscores: 'allow' | 'drop' | 'reject';
  xff: 'append' | 'replace';
  clientBodyTimeoutMs: number;
  /** 0: requests wait in undici's queue, unbounded. */
  poolWaitTimeoutMs: number;
  /** 0: no limit. */
  maxRequestsPerIp: number;
  maxHeaderCount: number;
  /** 0: no limit. */
  maxBodySize: number;
  http2MaxConcurrentStreams: number;
  http2MaxResets: number;
  /** 0: never. */
  tunnelIdleTimeoutMs: number;
}

export function proxyConfig(options: TlsProxyOptions): ProxyConfig {
  const upstream = upstreamEndpoint(options.upstream);
  const rate = options.rateLimit;
  const burst = options.rateLimitBurst || Math.max(1, Math.ceil(rate * 2));
  const authenticatedRate = options.rateLimitAuthenticated || rate;
  return {
    mode: options.mode,
    listen: endpoint(options.listen),
    redirectListen: options.redirectListen ? endpoint(options.redirectListen) : undefined,
    redirectHttpsPort: options.redirectHttpsPort,
    upstream,
    upstreamOrigin: `http://${upstream.host.includes(':') ? `[${upstream.host}]` : upstream.host}:${upstream.port}`,
    clientAuth: options.clientAuth,
    allowSubjects: allowSubjectKeys(options.allowSubject),
    minTlsVersion: options.minTlsVersion,
    ciphers: withTls13Suites(options.ciphers),
    hstsMaxAge: options.hstsMaxAge,
    upstreamTimeoutMs: options.upstreamTimeout,
    upstreamConnections: options.upstreamConnections,
    maxConnections: options.maxConnections === 0 ? 0 : Math.ceil(options.maxConnections / options.workers),
    maxConnectionsPerIp:
      options.maxConnectionsPerIp === 0 ? 0 : Math.ceil(options.maxConnectionsPerIp / options.workers),
    maxHeaderSize: options.maxHeaderSize,
    headerTimeoutMs: options.headerTimeout,
    requestTimeoutMs: options.requestTimeout,
    keepAliveTimeoutMs: options.keepAliveTimeout,
    handshakeTimeoutMs: options.handshakeTimeout,
    idleTimeoutMs: options.idleTimeout,
    rateLimit:
      rate > 0
        ? {
            rate,
            burst,
            authenticatedRate,
            // The authenticated bucket is as deep, relative to its rate, as the ordinary one.
            authenticatedBurst: Math.max(burst, Math.ceil((burst * authenticatedRate) / rate)),
          }
        : undefined,
    proxyProtocol: options.proxyProtocol,
    acceptProxyProtocol: options.acceptProxyProtocol,
    // HTTP layer limits and header policy.
    headersWithUnderscores: options.headersWithUnderscores,
    xff: options.xff,
    clientBodyTimeoutMs: options.clientBodyTimeout,
    poolWaitTimeoutMs: options.poolWaitTimeout,
    maxRequestsPerIp: options.maxRequestsPerIp,
    maxHeaderCount: options.maxHeaderCount,
    maxBodySize: options.maxBodySize,
    http2MaxConcurrentStreams: options.http2MaxConcurrentStreams,
    http2MaxResets: options.http2MaxResets,
    tunnelIdleTimeoutMs: options.tunnelIdleTimeout,
  };
}

/** Cross-option checks (lib/lifecycle runs them before anything listens; failures exit 2). */
export function checkOptions(options: TlsProxyOptions): void {
  const url = options.upstream;
  if (options.mode === 'l7' && url.protocol !== 'http:') {
    throw invalid('upstream', `"${url}" must be an http:// URL with --mode l7`);
  }
  if (
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search ||
    url.hash ||
    url.username ||
    url.password
  ) {
    throw invalid(
      'upstream',
      `"${url.protocol}//${url.host}${url.pathname}" must be scheme://host:port only, without a path`,
    );
  }
  const { host } = upstreamEndpoint(url);
  if (!options.allowRemoteUpstream && !isLoopback(host)) {
    throw invalid(
      'upstream',
      `host "${host}" is not a loopback address: a sidecar forwards to its own pod (set --allow-remote-upstream to override)`,
    );
  }
  if (options.clientAuth !== 'none' && !options.clientCaFile) {
    throw invalid('clientAuth', `${options.clientAuth} needs --client-ca-file to verify client certificates`);
  }
  if (options.crlFile && !options.clientCaFile) {
    throw invalid('crlFile', 'needs --client-ca-file (a CRL revokes client certificates)');
  }
  if (options.allowSubject.length > 0) {
    // With `request` a client without a certificate would pass the allow-list.
    if (options.clientAuth !== 'require') throw invalid('allowSubject', 'needs --client-auth require');
    try {
      allowSubjectKeys(options.allowSubject);
    } catch (err) {
      throw invalid('allowSubject', (err as Error).message);
    }
  }
  try {
    createSecureContext({ ciphers: withTls13Suites(options.ciphers) });
  } catch (err) {
    throw invalid(
      'ciphers',
      `"${options.ciphers}" is not a cipher list OpenSSL accepts (${(err as Error).message})`,
    );
  }
  if (options.mode === 'l4') {
    const l7Only: [keyof TlsProxyOptions, boolean][] = [
      ['hstsMaxAge', options.hstsMaxAge > 0],
      ['rateLimit', options.rateLimit > 0],
      ['redirectListen', options.redirectListen !== undefined],
    ];
    for (const [key, set] of l7Only) if (set) throw invalid(key, 'needs --mode l7 (l4 does not see HTTP)');
  }
  if (options.mode === 'l7' && options.proxyProtocol) {
    throw invalid('proxyProtocol', 'needs --mode l4 (l7 passes the client address in X-Forwarded-For)');
  }
  if (options.redirectListen && sameListener(options.redirectListen, options.listen)) {
    throw invalid('redirectListen', `must differ from --listen (${options.listen})`);
  }
}

/**
 * node caps the protocol at TLS 1.2 when a cipher list names no TLS 1.3 suite, so a TLS 1.2 list given
 * alone keeps OpenSSL's TLS 1.3 suites: --ciphers changes TLS 1.2 only.
 */
export function withTls13Suites(ciphers: string): string {
  if (ciphers === '') return withTls13Suites(intermediateCiphers);
  if (ciphers.split(':').some((name) => name.startsWith('TLS_'))) return ciphers;
  const tls13 = DEFAULT_CIPHERS.split(':').filter((name) => name.startsWith('TLS_'));
  return [...tls13, ciphers].join(':');
}

export function upstreamEndpoint(url: URL): Endpoint {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? (url.protocol === 'http:' ? 80 : 0) : Number(url.port);
  if (port === 0) throw invalid('upstream', `"${url}" needs a port`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

function endpoint(hostPort: { host: string; port: number }): Endpoint {
  return { host: hostPort.host, port: hostPort.port };
}

function sameListener(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  return (
    a.port !== 0 && a.port === b.port && (a.host === b.host || a.host === '0.0.0.0' || b.host === '0.0.0.0')
  );
}
