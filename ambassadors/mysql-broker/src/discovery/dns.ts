/**
 * DNS discovery, re-resolved every health interval. `host:port` resolves the name's A/AAAA records
 * through the system resolver (getaddrinfo, so /etc/hosts and the pod's search domains apply:
 * `mysql.db` works in a cluster as it does for the app); `_service._proto.name` is an SRV query, whose
 * targets are ordered by priority, then weight (heaviest first). A failed lookup keeps the last list:
 * a DNS hiccup must not take every backend away.
 */

import { lookup, resolveSrv } from 'node:dns/promises';
import type { Logger } from '../../../../lib/log.js';
import { Expected, type HostPort, hostPort, parseHostPort } from '../../../../lib/option-types.js';
import { compareNatural } from './natural-order.js';

export type DnsTarget = { kind: 'address'; host: string; port: number } | { kind: 'srv'; name: string };

export function parseDnsName(raw: string): DnsTarget {
  const text = raw.trim();
  if (/^_[^.]+\._(tcp|udp)\.[^:]+$/i.test(text)) return { kind: 'srv', name: text.replace(/\.$/, '') };
  try {
    const { host, port } = parseHostPort(text);
    if (port === 0) throw new Expected('a port');
    return { kind: 'address', host, port };
  } catch (err) {
    if (!(err instanceof Expected)) throw err;
    throw new Expected(
      'host:port (A/AAAA records) or an SRV name like _mysql._tcp.mysql.db.svc.cluster.local',
    );
  }
}

export interface Resolver {
  lookup(host: string): Promise<{ address: string; family: number }[]>;
  resolveSrv(name: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
}

export const systemResolver: Resolver = {
  lookup: (host) => lookup(host, { all: true, verbatim: true }),
  resolveSrv: (name) => resolveSrv(name),
};

export async function resolveBackends(
  target: DnsTarget,
  resolver: Resolver = systemResolver,
): Promise<HostPort[]> {
  if (target.kind === 'address') {
    const records = await resolver.lookup(target.host);
    // Resolvers rotate A records between answers; sorted, the first healthy backend stays the same one.
    const addresses = [...new Set(records.map(({ address }) => address))];
    return addresses.sort(compareNatural).map((address) => hostPort(address, target.port));
  }
  const records = await resolver.resolveSrv(target.name);
  return [...records]
    .sort(
      (a, b) =>
        a.priority - b.priority || b.weight - a.weight || compareNatural(a.name, b.name) || a.port - b.port,
    )
    .map((record) => hostPort(record.name.replace(/\.$/, ''), record.port));
}

export interface DnsDiscovery {
  stop(): void;
}

export function startDnsDiscovery(
  target: DnsTarget,
  intervalMs: number,
  onBackends: (backends: HostPort[]) => void,
  log: Logger,
  resolver: Resolver = systemResolver,
): DnsDiscovery {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  const name = target.kind === 'srv' ? target.name : `${target.host}:${target.port}`;
  const tick = async () => {
    try {
      const backends = await resolveBackends(target, resolver);
      if (stopped) return;
      if (failing) log.info({ dnsName: name }, 'DNS lookups work again');
      failing = false;
      onBackends(backends);
    } catch (err) {
      // Logged once per outage, not once per interval.
      if (!failing) {
        log.warn(
          { dnsName: name, err: (err as NodeJS.ErrnoException).code ?? String(err) },
          'DNS lookup failed; keeping the last backends',
        );
      }
      failing = true;
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  void tick();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
