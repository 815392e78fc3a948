/**
 * The Kubernetes API token goes only where it is used: the legacy-app pod never automounts it; a
 * projected kube-api-access volume is mounted only into config-sync (source kubernetes) and mysql-broker
 * (discovery kubernetes); the ServiceAccount, Roles and RoleBindings exist only for those.
 */

import { join } from 'node:path';
import t from 'tap';
import { helm, helmTemplate, type Manifest } from '../support/helm.js';
import { repoRoot } from '../support/process.js';

const chart = join(repoRoot, 'charts/legacy-app');
const tokenPath = '/var/run/secrets/kubernetes.io/serviceaccount';

t.before(async () => {
  await helm(['dependency', 'build', chart]);
});

interface Case {
  name: string;
  set: string[];
  /** The containers that get the token. */
  withToken: string[];
  /** The Roles rendered (name suffixes). */
  roles: string[];
}

const brokerDiscovers = ['mysqlBroker.options.discovery=kubernetes', 'mysqlBroker.options.service=mysql'];
const cases: Case[] = [
  {
    name: 'defaults: config-sync watches ConfigMaps',
    set: [],
    withToken: ['config-sync'],
    roles: ['config-sync'],
  },
  {
    name: 'config-sync and mysql-broker both on the API',
    set: brokerDiscovers,
    withToken: ['config-sync', 'mysql-broker'],
    roles: ['config-sync', 'mysql-broker'],
  },
  {
    name: 'only mysql-broker on the API',
    set: ['configSync.enabled=false', ...brokerDiscovers],
    withToken: ['mysql-broker'],
    roles: ['mysql-broker'],
  },
  {
    name: 'config-sync from a directory needs no API',
    set: ['configSync.options.source=dir', 'configSync.options.dir=/config'],
    withToken: [],
    roles: [],
  },
  {
    name: 'mysql-broker discovering the API but off',
    set: ['configSync.enabled=false', 'mysqlBroker.enabled=false', ...brokerDiscovers],
    withToken: [],
    roles: [],
  },
];

function mountsToken(container: Manifest): boolean {
  return (container.volumeMounts ?? []).some((m: { mountPath: string }) => m.mountPath === tokenPath);
}

for (const c of cases) {
  t.test(c.name, async (t) => {
    const manifests = await helmTemplate(
      'legacy',
      chart,
      c.set.flatMap((s) => ['--set', s]),
    );
    const pod = manifests.find((m) => m.kind === 'Deployment')?.spec.template.spec;
    t.equal(pod.automountServiceAccountToken, false, 'the pod never automounts the token');
    const containers: Manifest[] = [...(pod.initContainers ?? []), ...pod.containers];
    t.same(
      containers.filter(mountsToken).map((c) => c.name),
      c.withToken,
      'only these containers mount the token',
    );
    const volume = (pod.volumes as Manifest[]).find((v) => v.name === 'kube-api-access');
    const serviceAccounts = manifests.filter((m) => m.kind === 'ServiceAccount');
    const roles = manifests.filter((m) => m.kind === 'Role').map((m) => m.metadata.name);
    const bindings = manifests.filter((m) => m.kind === 'RoleBinding').map((m) => m.metadata.name);
    t.same(
      roles,
      c.roles.map((r) => `legacy-legacy-app-${r}`),
      'Roles',
    );
    t.same(bindings, roles, 'a RoleBinding per Role');
    if (c.withToken.length === 0) {
      t.notOk(volume, 'no kube-api-access volume');
      t.same(serviceAccounts, [], 'no ServiceAccount');
      t.notOk(pod.serviceAccountName, 'the pod names no ServiceAccount');
      return;
    }
    t.match(volume?.projected.sources, [
      { serviceAccountToken: { path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt' } },
      { downwardAPI: { items: [{ path: 'namespace' }] } },
    ]);
    t.equal(serviceAccounts.length, 1, 'one ServiceAccount');
    t.equal(serviceAccounts[0]?.automountServiceAccountToken, false, 'which does not automount either');
    t.equal(pod.serviceAccountName, serviceAccounts[0]?.metadata.name, 'the pod runs as it');
  });
}
