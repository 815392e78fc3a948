/**
 * Discovery's reading of EndpointSlices as the EndpointSlice controller writes them (the fake's
 * endpoint-slices.ts): many endpoints per slice, dual-stack, terminating pods, a pod in two slices.
 */

import type { V1EndpointSlice } from '@kubernetes/client-node';
import t from 'tap';
import { endpointSlicesFor, type PodShape } from '../../../test/support/fake-kube/endpoint-slices.js';
import { backendsFromSlices, sliceSelector } from '../src/discovery/kubernetes.js';

const service = {
  name: 'db',
  namespace: 'default',
  headless: true,
  ipFamilies: ['IPv4', 'IPv6'] as ('IPv4' | 'IPv6')[],
};
const pod = (index: number, extra: Partial<PodShape> = {}): PodShape => ({
  name: `db-${index}`,
  hostname: `db-${index}`,
  ipv4: `10.0.0.${index + 1}`,
  ipv6: `fd00::${index + 1}`,
  port: 3306,
  ...extra,
});
const read = (slices: unknown[]) => backendsFromSlices(slices as V1EndpointSlice[]).map(String);

t.test('dual-stack: each pod once, by its IPv4 address, in pod-name order', async (t) => {
  const slices = endpointSlicesFor(service, [pod(10), pod(2), pod(0), pod(1)], { maxEndpointsPerSlice: 2 });
  t.same(
    slices.map((s) => [s.addressType, s.endpoints.length]),
    [
      ['IPv4', 2],
      ['IPv4', 2],
      ['IPv6', 2],
      ['IPv6', 2],
    ],
    'the controller splits each family into slices of at most two',
  );
  t.same(read(slices), ['10.0.0.1:3306', '10.0.0.2:3306', '10.0.0.3:3306', '10.0.0.11:3306']);
  t.same(
    read(slices.filter((s) => s.addressType === 'IPv6')),
    ['[fd00::1]:3306', '[fd00::2]:3306', '[fd00::3]:3306', '[fd00::11]:3306'],
    'an IPv6-only Service is read as such',
  );
});

t.test(
  'terminating and not-ready pods take no new connections, publishNotReadyAddresses or not',
  async (t) => {
    const pods = [pod(0, { terminating: true }), pod(1, { ready: false }), pod(2)];
    t.same(read(endpointSlicesFor(service, pods)), ['10.0.0.3:3306']);
    const published = endpointSlicesFor({ ...service, publishNotReadyAddresses: true }, pods);
    t.match(
      published[0]?.endpoints[0],
      { conditions: { ready: true, serving: true, terminating: true } },
      'the controller keeps a terminating endpoint ready for such a Service',
    );
    t.same(
      read(published),
      ['10.0.0.2:3306', '10.0.0.3:3306'],
      'not-ready is published; terminating is not used',
    );
  },
);

t.test('a pod in two slices of one family (the controller moving it) is one backend', async (t) => {
  const [first] = endpointSlicesFor({ ...service, ipFamilies: ['IPv4'] }, [pod(0), pod(1)]);
  const moved = {
    ...first,
    metadata: { ...first?.metadata, name: 'db-moved' },
    endpoints: first?.endpoints.slice(1),
  };
  t.same(read([first, moved]), ['10.0.0.1:3306', '10.0.0.2:3306']);
});

t.test('the selector names the Service and the managing controllers', async (t) => {
  t.equal(
    sliceSelector('db', ['endpointslice-controller.k8s.io']),
    'kubernetes.io/service-name=db,endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io',
  );
  t.equal(
    sliceSelector('db', ['a', 'b']),
    'kubernetes.io/service-name=db,endpointslice.kubernetes.io/managed-by in (a,b)',
  );
  t.equal(sliceSelector('db', []), 'kubernetes.io/service-name=db', 'empty: any manager');
});
