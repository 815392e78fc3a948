/**
 * Kubernetes discovery: the Service's EndpointSlices (label kubernetes.io/service-name), written by the
 * controllers named in --endpointslice-managed-by (label endpointslice.kubernetes.io/managed-by), watched
 * with resume through lib/kube.ts.
 *
 * An endpoint takes new connections when it is ready (unset means ready, as the API defines it) and not
 * terminating: a Service with publishNotReadyAddresses keeps a terminating pod's endpoint `ready`, and a
 * database pod on its way out must not get new clients. A pod is one backend however many slices list
 * it: the same pod appears in the IPv4 and the IPv6 slice of a dual-stack Service, and may be in two
 * slices of one family while the controller moves it; its IPv4 address is used when it has both.
 *
 * The port is the one named `mysql`, else the slice's only port. Endpoints are ordered by pod name with
 * numbers compared as numbers, so a StatefulSet's `-0` pod comes first and is the primary while healthy.
 */

import type { KubeConfig, V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import { describeError, ErrorCode } from '../../../../lib/errors.js';
import { type ResourceWatch, watchResources } from '../../../../lib/kube.js';
import type { Logger } from '../../../../lib/log.js';
import { type HostPort, hostPort } from '../../../../lib/option-types.js';
import { compareNatural } from './natural-order.js';

export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';

export function slicePort(slice: V1EndpointSlice): number | undefined {
  const ports = slice.ports ?? [];
  const named = ports.find((port) => port.name === 'mysql');
  const chosen = named ?? (ports.length === 1 ? ports[0] : undefined);
  return chosen?.port ?? undefined;
}

/** Ready (unset counts as ready) and not on its way out. */
export function takesNewConnections(endpoint: V1Endpoint): boolean {
  return endpoint.conditions?.ready !== false && endpoint.conditions?.terminating !== true;
}

/** What names one pod across slices: its targetRef, else its hostname, else its address. */
function podIdentity(endpoint: V1Endpoint, address: string): string {
  const ref = endpoint.targetRef;
  if (ref?.uid) return `uid:${ref.uid}`;
  if (ref?.name) return `pod:${ref.namespace ?? ''}/${ref.name}`;
  return endpoint.hostname ? `host:${endpoint.hostname}` : `address:${address}`;
}

const familyRank: Record<string, number> = { IPv4: 0, IPv6: 1 };

export function backendsFromSlices(slices: Iterable<V1EndpointSlice>): HostPort[] {
  const byPod = new Map<string, { sortKey: string; rank: number; address: HostPort }>();
  for (const slice of slices) {
    const port = slicePort(slice);
    if (port === undefined) continue;
    const rank = familyRank[slice.addressType] ?? 2;
    for (const endpoint of slice.endpoints ?? []) {
      const address = endpoint.addresses?.[0];
      if (!address || !takesNewConnections(endpoint)) continue;
      const identity = podIdentity(endpoint, address);
      const known = byPod.get(identity);
      if (known && known.rank <= rank) continue;
      byPod.set(identity, {
        sortKey: endpoint.hostname ?? endpoint.targetRef?.name ?? address,
        rank,
        address: hostPort(address, port),
      });
    }
  }
  return [...byPod.values()]
    .sort(
      (a, b) =>
        compareNatural(a.sortKey, b.sortKey) || compareNatural(a.address.toString(), b.address.toString()),
    )
    .map((entry) => entry.address);
}

/** `kubernetes.io/service-name=<service>`, narrowed to the slices of `managers` (none: any manager). */
export function sliceSelector(service: string, managers: readonly string[]): string {
  const byService = `kubernetes.io/service-name=${service}`;
  if (managers.length === 0) return byService;
  const manager =
    managers.length === 1
      ? `${managedByLabel}=${managers[0]}`
      : `${managedByLabel} in (${managers.join(',')})`;
  return `${byService},${manager}`;
}

export function watchServiceEndpoints(
  kc: KubeConfig,
  target: { namespace: string; service: string; managers: readonly string[] },
  onBackends: (backends: HostPort[]) => void,
  log: Logger,
): ResourceWatch {
  const { namespace, service } = target;
  const slices = new Map<string, V1EndpointSlice>();
  const publish = () => onBackends(backendsFromSlices(slices.values()));
  return watchResources<V1EndpointSlice>(
    kc,
    {
      apiVersion: 'discovery.k8s.io/v1',
      resource: 'endpointslices',
      namespace,
      labelSelector: sliceSelector(service, target.managers),
    },
    {
      onSnapshot(items) {
        slices.clear();
        for (const item of items) slices.set(item.metadata?.name ?? '', item);
        publish();
      },
      onChange(type, slice) {
        const name = slice.metadata?.name ?? '';
        if (type === 'DELETED') slices.delete(name);
        else slices.set(name, slice);
        publish();
      },
      onError(err) {
        log.warn(
          { code: ErrorCode.KUBE_API, service, namespace, err: describeError(err) },
          'EndpointSlice watch error; retrying',
        );
      },
    },
  );
}
