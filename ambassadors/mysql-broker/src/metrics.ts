/**
 * The broker's metrics, created once and passed in. Byte counters are read from the sockets' own
 * counts at scrape time (closed connections are folded into a running total), so the data path pays
 * nothing per chunk for them; they live where the data path runs (with --workers, in each worker, and
 * the primary shows their sum). Backend gauges carry the backend address as a label: the set is bounded
 * by the configuration or discovery, and a backend that leaves the list leaves the metrics too.
 */

import { Counter, Gauge, type Registry } from 'prom-client';
import { metricName } from '../../../lib/metrics.js';

export const refusalReasons = [
  'max_connections',
  'no_backend',
  'connect_timeout',
  'worker_unavailable',
] as const;
export type RefusalReason = (typeof refusalReasons)[number];
export const listeners = ['read-write', 'read-only'] as const;
/** What a client's first packet can trip (first-packet.ts). */
export const limitNames = ['handshake_size', 'handshake_malformed'] as const;
export type LimitName = (typeof limitNames)[number];
export type ListenerName = (typeof listeners)[number];

export interface Bytes {
  upstream: number;
  downstream: number;
}

export interface ConnectionSource {
  active(listener: ListenerName): number;
}

export interface BackendSource {
  /** Every backend now known, with its route, health and whether it is the route's primary. */
  backends(): { backend: string; role: ListenerName; up: boolean; primary: boolean }[];
}

export function createBrokerMetrics(
  registry: Registry,
  connectionSource: () => ConnectionSource,
  backends: BackendSource,
) {
  const name = (what: string, unit?: string) => metricName('mysql-broker', what, unit);
  new Gauge({
    name: name('connections_active'),
    help: 'Client connections open now, by listener.',
    labelNames: ['listener'],
    registers: [registry],
    collect() {
      for (const listener of listeners) this.set({ listener }, connectionSource().active(listener));
    },
  });
  const connections = new Counter({
    name: name('connections_total'),
    help: 'Client connections brokered to a backend, by listener.',
    labelNames: ['listener'],
    registers: [registry],
  });
  const refused = new Counter({
    name: name('refused_connections_total'),
    help: 'Client connections answered with a MySQL ERR packet instead of a backend, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  new Gauge({
    name: name('backend_up'),
    help: '1 when the backend answered its last health check with a MySQL greeting, else 0.',
    labelNames: ['backend', 'role'],
    registers: [registry],
    collect() {
      this.reset();
      for (const b of backends.backends()) this.set({ backend: b.backend, role: b.role }, b.up ? 1 : 0);
    },
  });
  new Gauge({
    name: name('backend_primary'),
    help: '1 for the backend new connections of a route go to first, else 0.',
    labelNames: ['backend', 'role'],
    registers: [registry],
    collect() {
      this.reset();
      for (const b of backends.backends()) this.set({ backend: b.backend, role: b.role }, b.primary ? 1 : 0);
    },
  });
  const failovers = new Counter({
    name: name('failovers_total'),
    help: 'Times the primary backend changed from one backend to another, by route.',
    labelNames: ['role'],
    registers: [registry],
  });
  for (const listener of listeners) {
    connections.inc({ listener }, 0);
    failovers.inc({ role: listener }, 0);
  }
  for (const reason of refusalReasons) refused.inc({ reason }, 0);
  return { connections, refused, failovers };
}

export type BrokerMetrics = ReturnType<typeof createBrokerMetrics>;

/** Where the data path runs: this process, or each worker (the primary sums them, lib/workers). */
export function createByteMetrics(registry: Registry, bytes: () => Bytes): void {
  let reported = { upstream: 0, downstream: 0 };
  new Counter({
    name: metricName('mysql-broker', 'bytes_total'),
    help: 'Bytes proxied: upstream is client to backend, downstream is backend to client.',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      const now = bytes();
      this.inc({ direction: 'upstream' }, Math.max(0, now.upstream - reported.upstream));
      this.inc({ direction: 'downstream' }, Math.max(0, now.downstream - reported.downstream));
      reported = now;
    },
  });
}

/** Counted where the data path runs, like the bytes (the primary sums the workers'). */
export function createLimitMetrics(registry: Registry): Counter<'limit'> {
  const rejections = new Counter({
    name: metricName('mysql-broker', 'limit_rejections_total'),
    help: 'Clients answered with an ERR packet and closed for their first packet, by limit: handshake_size (over --max-handshake-size), handshake_malformed (not a MySQL handshake response).',
    labelNames: ['limit'],
    registers: [registry],
  });
  for (const limit of limitNames) rejections.inc({ limit }, 0);
  return rejections;
}
