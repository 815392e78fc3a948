/**
 * EndpointSlices as kube-controller-manager's EndpointSlice controller writes them, for tests of anything
 * that reads them (the fake has no controller): one set of slices per IP family of the Service, pods
 * grouped by their port numbers and at most `maxEndpointsPerSlice` to a slice, generated names, the
 * Service as controlling owner, the `kubernetes.io/service-name` and `endpointslice.kubernetes.io/
 * managed-by` labels, and per endpoint `targetRef`, `nodeName`, `hostname` (pods of a headless Service
 * with a matching subdomain) and the conditions the controller computes:
 * serving = the pod is ready; terminating = the pod is being deleted; ready = serving and not
 * terminating, except that `publishNotReadyAddresses` makes ready always true.
 */

import { createHash } from 'node:crypto';

export const controllerName = 'endpointslice-controller.k8s.io';

export interface ServiceShape {
  name: string;
  namespace: string;
  uid?: string;
  /** Port name -> the pod's port number is given per pod. */
  portName?: string;
  ipFamilies?: ('IPv4' | 'IPv6')[];
  headless?: boolean;
  publishNotReadyAddresses?: boolean;
}

export interface PodShape {
  name: string;
  uid?: string;
  ipv4?: string;
  ipv6?: string;
  /** The target port on this pod. */
  port: number;
  /** The pod's Ready condition. Default true. */
  ready?: boolean;
  /** The pod has a deletionTimestamp. */
  terminating?: boolean;
  nodeName?: string;
  zone?: string;
  /** spec.hostname, published only for a headless Service (with the pod's subdomain set to it). */
  hostname?: string;
}

export interface EndpointSliceShape {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: boolean;
      blockOwnerDeletion: boolean;
    }[];
  };
  addressType: 'IPv4' | 'IPv6';
  endpoints: Record<string, unknown>[];
  ports: { name: string; port: number; protocol: 'TCP' }[];
}

function uidFor(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function suffix(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 5);
}

function endpointOf(service: ServiceShape, pod: PodShape, address: string): Record<string, unknown> {
  const serving = pod.ready ?? true;
  const terminating = pod.terminating ?? false;
  return {
    addresses: [address],
    conditions: {
      ready: service.publishNotReadyAddresses ? true : serving && !terminating,
      serving,
      terminating,
    },
    ...(service.headless && pod.hostname ? { hostname: pod.hostname } : {}),
    targetRef: {
      kind: 'Pod',
      namespace: service.namespace,
      name: pod.name,
      uid: pod.uid ?? uidFor(pod.name),
    },
    ...(pod.nodeName ? { nodeName: pod.nodeName } : {}),
    ...(pod.zone ? { zone: pod.zone } : {}),
  };
}

export function endpointSlicesFor(
  service: ServiceShape,
  pods: readonly PodShape[],
  options: { maxEndpointsPerSlice?: number; managedBy?: string } = {},
): EndpointSliceShape[] {
  const max = options.maxEndpointsPerSlice ?? 100;
  const serviceUid = service.uid ?? uidFor(`service/${service.namespace}/${service.name}`);
  const slices: EndpointSliceShape[] = [];
  for (const family of service.ipFamilies ?? ['IPv4']) {
    const byPort = new Map<number, Record<string, unknown>[]>();
    for (const pod of pods) {
      const address = family === 'IPv4' ? pod.ipv4 : pod.ipv6;
      if (!address) continue;
      byPort.set(pod.port, [...(byPort.get(pod.port) ?? []), endpointOf(service, pod, address)]);
    }
    for (const [port, endpoints] of byPort) {
      for (let start = 0; start < endpoints.length; start += max) {
        const name = `${service.name}-${suffix(`${family}/${port}/${start}`)}`;
        slices.push({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name,
            namespace: service.namespace,
            labels: {
              'kubernetes.io/service-name': service.name,
              'endpointslice.kubernetes.io/managed-by': options.managedBy ?? controllerName,
              ...(service.headless ? { 'service.kubernetes.io/headless': '' } : {}),
            },
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'Service',
                name: service.name,
                uid: serviceUid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          addressType: family,
          endpoints: endpoints.slice(start, start + max),
          ports: [{ name: service.portName ?? 'mysql', port, protocol: 'TCP' }],
        });
      }
    }
  }
  return slices;
}
