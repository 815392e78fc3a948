/**
 * Shared by the mysql-broker tests that run against the fake kube-apiserver: the EndpointSlices a real
 * endpoints controller would write (the fake has none), the broker's Kubernetes arguments, and where a
 * new connection through the broker lands.
 */

import { join } from 'node:path';
import { documentedRules } from '../../../test/support/fake-kube/documented-role.js';
import { controllerName, type EndpointSliceShape } from '../../../test/support/fake-kube/endpoint-slices.js';
import { type FakeKube, type FakeKubeOptions, startFakeKube } from '../../../test/support/fake-kube/index.js';
import type { MariaDb } from '../../../test/support/mariadb.js';
import { repoRoot, type Teardown } from '../../../test/support/process.js';
import { connectVia, serverPort } from './helpers.js';

export const namespace = 'default';

export const readmePath = join(repoRoot, 'ambassadors/mysql-broker/README.md');

/**
 * The fake API server granting in `roleNamespace` only what the README's Role grants a broker run with
 * `flags` (`--provision`), so the documented RBAC is what the Kubernetes tests run under.
 */
export function startKubeUnderRole(
  t: Teardown,
  flags: string[] = [],
  options: FakeKubeOptions = {},
  roleNamespace = namespace,
): Promise<FakeKube> {
  return startFakeKube(t, {
    ...options,
    rbac: { rules: documentedRules(readmePath, flags), namespace: roleNamespace },
  });
}

/** A slice of one pod (named like the slice) as the EndpointSlice controller labels and fills it. */
export function slice(name: string, service: string, db: MariaDb, ready = true) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace,
      labels: {
        'kubernetes.io/service-name': service,
        'endpointslice.kubernetes.io/managed-by': controllerName,
      },
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: [db.host],
        hostname: name,
        conditions: { ready, serving: ready, terminating: false },
        targetRef: { kind: 'Pod', namespace, name },
      },
    ],
    ports: [{ name: 'mysql', port: db.port, protocol: 'TCP' }],
  };
}

/** Makes the fake hold exactly these slices of `service`: creates, replaces and deletes as the controller does. */
export function applySlices(kube: FakeKube, service: string, slices: readonly EndpointSliceShape[]): void {
  const ref = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespace };
  const wanted = new Set(slices.map((s) => s.metadata.name));
  for (const old of kube.list(ref, {
    labelSelector: `kubernetes.io/service-name=${service},endpointslice.kubernetes.io/managed-by=${controllerName}`,
  })) {
    if (!wanted.has(old.metadata.name)) kube.delete({ ...ref, name: old.metadata.name });
  }
  for (const next of slices) {
    const current = kube.get({ ...ref, name: next.metadata.name });
    if (!current) kube.create(next);
    else
      kube.update({
        ...next,
        metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion },
      });
  }
}

export function brokerArgs(kube: FakeKube, service: string, extra: string[] = []): string[] {
  return [
    '--discovery',
    'kubernetes',
    '--service',
    service,
    '--namespace',
    namespace,
    '--kubeconfig',
    kube.kubeconfigPath,
    '--health-interval',
    '300ms',
    ...extra,
  ];
}

export async function readyz(adminUrl: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${adminUrl}/readyz`);
  return { status: res.status, body: await res.text() };
}

/** The port of the server a new connection through the broker reaches; 0 when it cannot connect. */
export async function answersFrom(
  t: Teardown,
  broker: { host: string; port: number },
  db: MariaDb,
): Promise<number> {
  const conn = await connectVia(broker, db).catch(() => undefined);
  if (!conn) return 0;
  t.teardown(() => conn.end().catch(() => {}));
  const port = await serverPort(conn).catch(() => 0);
  await conn.end().catch(() => {});
  return port;
}
