/**
 * tls-proxy's metrics. Data-plane metrics live in every serving process (with --workers, the primary
 * sums the workers' values at scrape time); certificate metrics live where certificates are loaded (the
 * primary, or the only process). Label values come from the fixed sets below.
 */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { bindUpstreamMetrics } from '../../../lib/http-proxy/metrics.js';
import { metricName } from '../../../lib/metrics.js';

export { statusClass } from '../../../lib/http-proxy/metrics.js';

const component = 'tls-proxy';

export const handshakeFailureReasons = [
  'protocol_version',
  'no_shared_cipher',
  'client_cert_missing',
  'client_cert_unverified',
  'client_cert_denied',
  'plain_http',
  'proxy_header',
  'timeout',
  'other',
] as const;

/** The connection limits tls-proxy counts in limit_rejections_total (listener.ts). */
export const connectionLimitNames = ['connections', 'connections_per_ip'] as const;

export type HandshakeFailureReason = (typeof handshakeFailureReasons)[number];

/**
 * Limits on what a client controls, as labels of limit_rejections_total: one per limit, each counted
 * when it refuses a request, a stream or a connection.
 */
export const limitNames = [
  // HTTP layer (l7-server.ts, lib/http-proxy)
  'header_size',
  'header_count',
  'request_timeout',
  'body_size',
  'body_idle',
  'underscore_header',
  'requests_per_ip',
  'h2_streams',
  'h2_rapid_reset',
  'tunnel_idle',
  'pool_wait',
] as const;

export type LimitName = (typeof limitNames)[number];

export type DataPlaneMetrics = ReturnType<typeof createDataPlaneMetrics>;

export function createDataPlaneMetrics(registry: Registry) {
  const registers = [registry];
  const requests = new Counter({
    name: metricName(component, 'requests_total'),
    help: 'HTTP requests answered (l7), by status class.',
    labelNames: ['status_class'],
    registers,
  });
  const upstreamErrors = new Counter({
    name: metricName(component, 'upstream_errors_total'),
    help: 'Requests or tunnels that failed at the upstream, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const handshakeFailures = new Counter({
    name: metricName(component, 'tls_handshake_failures_total'),
    help: 'Client connections refused before a request could be served, by reason.',
    labelNames: ['reason'],
    registers,
  });
  // Zero-initialised so dashboards and alerts see every series from the first scrape.
  for (const reason of handshakeFailureReasons) handshakeFailures.inc({ reason }, 0);
  // --- limit rejections (one counter for every limit a client can trip) ---
  const limitRejections = new Counter({
    name: metricName(component, 'limit_rejections_total'),
    help: 'Requests, streams or connections refused because a client went past a limit, by limit.',
    labelNames: ['limit'],
    registers,
  });
  for (const limit of connectionLimitNames) limitRejections.inc({ limit }, 0);
  // Bound once, so a refusal does no label hashing.
  const limitRejected = {} as Record<LimitName, { inc(): void }>;
  for (const limit of limitNames) {
    const child = limitRejections.labels({ limit });
    child.inc(0);
    limitRejected[limit] = child;
  }
  // --- end limit rejections ---
  return {
    // requestsByClass, upstreamErrors and duration: the l7 proxy core's handles (one upstream).
    ...bindUpstreamMetrics({
      requests,
      upstreamErrors,
      duration: new Histogram({
        name: metricName(component, 'request_duration_seconds'),
        help: 'Time from a request head to the end of its response (l7).',
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
    }),
    handshakeFailures,
    limitRejections,
    limitRejected,
    activeConnections: new Gauge({
      name: metricName(component, 'active_connections'),
      help: 'Client connections open now (TLS established or in handshake).',
      registers,
    }),
    droppedConnections: new Counter({
      name: metricName(component, 'dropped_connections_total'),
      help: 'Client connections closed at once because --max-connections was reached.',
      registers,
    }),
    rateLimited: new Counter({
      name: metricName(component, 'rate_limited_requests_total'),
      help: 'Requests refused with 429 by the per-client rate limit.',
      registers,
    }),
    tunnelBytes: new Counter({
      name: metricName(component, 'tunnel_bytes_total'),
      help: 'Bytes carried by finished l4 tunnels, by direction.',
      labelNames: ['direction'],
      registers,
    }),
  };
}

export function createCertificateMetrics(registry: Registry, notAfter: () => number) {
  new Gauge({
    name: metricName(component, 'certificate_expiry_seconds'),
    help: 'Seconds until the served certificate expires (negative once it has).',
    registers: [registry],
    collect() {
      this.set(Math.round((notAfter() - Date.now()) / 1000));
    },
  });
  const reloads = new Counter({
    name: metricName(component, 'certificate_reloads_total'),
    help: 'Certificate reloads (file change or SIGHUP) by result; a failure keeps the old pair serving.',
    labelNames: ['result'],
    registers: [registry],
  });
  reloads.inc({ result: 'success' }, 0);
  reloads.inc({ result: 'failure' }, 0);
  return { reloads };
}
