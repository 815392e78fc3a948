/**
 * Kubernetes discovery: the Service's EndpointSlices (label kubernetes.io/service-name), watched with
 * resume through lib/kube.ts. Only ready endpoints count (conditions.ready unset means ready, as the
 * API defines it). The port is the one named `mysql`, else the slice's only port. Endpoints are ordered
 * by pod name with numbers compared as numbers, so a StatefulSet's `-0` pod comes first and is the
 * primary while it is healthy.
 */

import type { KubeConfig, V1EndpointSlice } from '@kubernetes/client-node';
import { describeError, ErrorCode } from '../../../../lib/errors.js';
import { type ResourceWatch, watchResources } from '../../../../lib/kube.js';
import type { Logger } from '../../../../lib/log.js';
import { type HostPort, hostPort } from '../../../../lib/option-types.js';
import { compareNatural } from './natural-order.js';

export function slicePort(slice: V1EndpointSlice): number | undefined {
  const ports = slice.ports ?? [];
  const named = ports.find((port) => port.name === 'mysql');
  const chosen = named ?? (ports.length === 1 ? ports[0] : undefined);
  return chosen?.port ?? undefined;
}

export function backendsFromSlices(slices: Iterable<V1EndpointSlice>): HostPort[] {
  const found: { sortKey: string; address: HostPort }[] = [];
  for (const slice of slices) {
    const port = slicePort(slice);
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      const address = endpoint.addresses?.[0];
      if (!address) continue;
      found.push({
        sortKey: endpoint.hostname ?? endpoint.targetRef?.name ?? address,
        address: hostPort(address, port),
      });
    }
  }
  found.sort(
    (a, b) =>
      compareNatural(a.sortKey, b.sortKey) || compareNatural(a.address.toString(), b.address.toString()),
  );
  return found.map((entry) => entry.address);
}

export function watchServiceEndpoints(
  kc: KubeConfig,
  namespace: string,
  service: string,
  onBackends: (backends: HostPort[]) => void,
  log: Logger,
): ResourceWatch {
  const slices = new Map<string, V1EndpointSlice>();
  const publish = () => onBackends(backendsFromSlices(slices.values()));
  return watchResources<V1EndpointSlice>(
    kc,
    {
      apiVersion: 'discovery.k8s.io/v1',
      resource: 'endpointslices',
      namespace,
      labelSelector: `kubernetes.io/service-name=${service}`,
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
