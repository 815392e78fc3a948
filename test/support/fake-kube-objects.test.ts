/**
 * The fake API server against the real client, objects: @kubernetes/client-node 1.x typed clients and
 * KubernetesObjectApi (discovery) must work unmodified and get the answers a real cluster gives.
 */

import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMapList,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import t from 'tap';
import { configMap, failure, statefulSet } from './fake-kube/client-helpers.js';
import { startFakeKube } from './fake-kube/index.js';
import { waitFor } from './wait.js';

t.test('CRUD through the typed client, with the real error codes and messages', async (t) => {
  const kube = await startFakeKube(t);
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  const namespace = 'default';

  const created = await core.createNamespacedConfigMap({ namespace, body: configMap('app', {}, { a: '1' }) });
  t.match(created.metadata, { name: 'app', namespace, uid: /^[0-9a-f-]{36}$/, resourceVersion: /^\d+$/ });
  t.equal(created.metadata?.generation, undefined, 'ConfigMaps carry no generation');
  t.same((await core.readNamespacedConfigMap({ name: 'app', namespace })).data, { a: '1' });

  const duplicate = await failure(core.createNamespacedConfigMap({ namespace, body: configMap('app') }));
  t.equal(duplicate.code, 409);
  t.match(duplicate.status, {
    reason: 'AlreadyExists',
    message: 'configmaps "app" already exists',
    details: { name: 'app', kind: 'configmaps' },
  });

  const missing = await failure(core.readNamespacedConfigMap({ name: 'nope', namespace }));
  t.match(missing, {
    code: 404,
    status: { kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'configmaps "nope" not found' },
  });

  const badName = await failure(core.createNamespacedConfigMap({ namespace, body: configMap('Bad_Name') }));
  t.equal(badName.code, 422);
  t.match(badName.status, {
    reason: 'Invalid',
    message:
      /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
  });

  const noNamespace = await failure(
    core.createNamespacedConfigMap({ namespace: 'ghost', body: { metadata: { name: 'x' } } }),
  );
  t.match(noNamespace, { code: 404, status: { message: 'namespaces "ghost" not found' } });

  const generated = await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { generateName: 'gen-' } },
  });
  t.match(generated.metadata?.name, /^gen-[a-z0-9]{5}$/);

  // Optimistic concurrency: a stale resourceVersion conflicts, none at all is an unconditional update.
  const updated = await core.replaceNamespacedConfigMap({
    name: 'app',
    namespace,
    body: { ...created, data: { a: '2' } },
  });
  t.ok(Number(updated.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));
  const stale = await failure(
    core.replaceNamespacedConfigMap({ name: 'app', namespace, body: { ...created, data: { a: '3' } } }),
  );
  t.equal(stale.code, 409);
  t.equal(
    stale.status.message,
    'Operation cannot be fulfilled on configmaps "app": the object has been modified; please apply your changes to the latest version and try again',
  );
  const unconditional = { ...configMap('app', {}, { a: '4' }) };
  t.same((await core.replaceNamespacedConfigMap({ name: 'app', namespace, body: unconditional })).data, {
    a: '4',
  });
  const notThere = await failure(
    core.replaceNamespacedConfigMap({ name: 'ghost', namespace, body: configMap('ghost') }),
  );
  t.equal(notThere.code, 404, 'no create-on-update');

  // A write that changes nothing is not a write.
  const current = await core.readNamespacedConfigMap({ name: 'app', namespace });
  const again = await core.replaceNamespacedConfigMap({ name: 'app', namespace, body: current });
  t.equal(again.metadata?.resourceVersion, current.metadata?.resourceVersion);

  // Patches: merge, strategic (as merge for maps), JSON patch with a failing test op.
  const merged = await core.patchNamespacedConfigMap(
    { name: 'app', namespace, body: { data: { b: 'x' }, metadata: { labels: { tier: 'web' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  t.same(merged.data, { a: '4', b: 'x' });
  const strategic = await core.patchNamespacedConfigMap(
    { name: 'app', namespace, body: { data: { a: null } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  t.same(strategic.data, { b: 'x' });
  const jsonPatched = await core.patchNamespacedConfigMap({
    name: 'app',
    namespace,
    body: [
      { op: 'test', path: '/data/b', value: 'x' },
      { op: 'add', path: '/data/c', value: 'y' },
    ],
  });
  t.same(jsonPatched.data, { b: 'x', c: 'y' });
  const failedTest = await failure(
    core.patchNamespacedConfigMap({
      name: 'app',
      namespace,
      body: [{ op: 'test', path: '/data/b', value: 'nope' }],
    }),
  );
  t.match(failedTest, { code: 422, status: { reason: 'Invalid' } });
  const unsupported = await failure(
    core.patchNamespacedConfigMap(
      { name: 'app', namespace, body: {} },
      setHeaderOptions('Content-Type', 'text/plain'),
    ),
  );
  t.match(unsupported, { code: 415, status: { reason: 'UnsupportedMediaType' } });

  // Delete: preconditions, a Success Status, then 404.
  const wrongUid = await failure(
    core.deleteNamespacedConfigMap({
      name: 'app',
      namespace,
      body: { preconditions: { uid: 'not-the-uid' } },
    }),
  );
  t.match(wrongUid, {
    code: 409,
    status: { reason: 'Conflict', message: /^Precondition failed: UID in precondition: not-the-uid/ },
  });
  const deleted = await core.deleteNamespacedConfigMap({
    name: 'app',
    namespace,
    body: { preconditions: { uid: created.metadata?.uid } },
  });
  t.match(deleted, {
    kind: 'Status',
    status: 'Success',
    details: { name: 'app', kind: 'configmaps', uid: created.metadata?.uid },
  });
  t.equal((await failure(core.deleteNamespacedConfigMap({ name: 'app', namespace }))).code, 404);
});

t.test('the other served resources behave like their real counterparts', async (t) => {
  const kube = await startFakeKube(t);
  const kc = kube.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = 'default';

  const namespaces = await core.listNamespace();
  t.same(
    namespaces.items.map((ns) => ns.metadata?.name),
    ['default', 'kube-system'],
  );
  t.equal(namespaces.items[0].metadata?.labels?.['kubernetes.io/metadata.name'], 'default');
  await core.createNamespace({ body: { metadata: { name: 'team-a' } } });
  await core.createNamespacedConfigMap({ namespace: 'team-a', body: { metadata: { name: 'inside' } } });
  await core.deleteNamespace({ name: 'team-a' });
  t.same(
    kube.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a' }),
    [],
    'namespace contents go with it',
  );
  t.equal((await failure(core.deleteNamespace({ name: 'default' }))).code, 403);

  const service = await core.createNamespacedService({
    namespace,
    body: { metadata: { name: 'db' }, spec: { selector: { app: 'db' }, ports: [{ port: 3306 }] } },
  });
  t.match(service.spec, {
    type: 'ClusterIP',
    clusterIP: /^10\.96\.\d+\.\d+$/,
    ports: [{ port: 3306, protocol: 'TCP', targetPort: 3306 }],
  });
  const headless = await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: 'db-headless' },
      spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 3306 }] },
    },
  });
  t.equal(headless.spec?.clusterIP, 'None');
  const deletedService = await core.deleteNamespacedService({ name: 'db', namespace });
  t.equal(deletedService.metadata?.name, 'db', 'a deleted Service is returned as the object');

  const secret = await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 's' }, stringData: { password: 'pw' } },
  });
  t.same(secret.data, { password: Buffer.from('pw').toString('base64') });
  t.equal(secret.type, 'Opaque');
  t.equal(secret.stringData, undefined);

  const slices = kc.makeApiClient(DiscoveryV1Api);
  const slice = await slices.createNamespacedEndpointSlice({
    namespace,
    body: {
      metadata: { name: 'db-abcde', labels: { 'kubernetes.io/service-name': 'db' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready: true } }],
      ports: [{ name: 'mysql', port: 3306 }],
    },
  });
  t.equal(slice.metadata?.generation, 1);
  const noType = await failure(
    slices.createNamespacedEndpointSlice({ namespace, body: { metadata: { name: 'x' } } as never }),
  );
  t.match(noType, { code: 422, status: { message: /addressType: Required value/ } });

  // Leader election: two candidates race for a Lease; the slower one gets a conflict.
  const leases = kc.makeApiClient(CoordinationV1Api);
  const lease = await leases.createNamespacedLease({
    namespace,
    body: { metadata: { name: 'leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
  });
  await leases.replaceNamespacedLease({
    name: 'leader',
    namespace,
    body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } },
  });
  const lost = await failure(
    leases.replaceNamespacedLease({
      name: 'leader',
      namespace,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'c' } },
    }),
  );
  t.equal(lost.code, 409);

  await core.createNamespacedEvent({
    namespace,
    body: {
      metadata: { name: 'db.1' },
      involvedObject: { kind: 'Pod', name: 'db-0', namespace },
      reason: 'Started',
      type: 'Normal',
    },
  });
  const events = await core.listNamespacedEvent({
    namespace,
    fieldSelector: 'involvedObject.name=db-0,type=Normal',
  });
  t.same(
    events.items.map((e) => e.reason),
    ['Started'],
  );

  // Finalizers hold a delete until an update removes them.
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'held', finalizers: ['podkit.io/hold'] } },
  });
  await core.deleteNamespacedConfigMap({ name: 'held', namespace });
  const held = await core.readNamespacedConfigMap({ name: 'held', namespace });
  t.ok(held.metadata?.deletionTimestamp, 'still there, marked for deletion');
  await core.replaceNamespacedConfigMap({
    name: 'held',
    namespace,
    body: { ...held, metadata: { ...held.metadata, finalizers: [] } },
  });
  t.equal((await failure(core.readNamespacedConfigMap({ name: 'held', namespace }))).code, 404);
});

t.test('KubernetesObjectApi finds resources through discovery', async (t) => {
  const kube = await startFakeKube(t);
  const client = KubernetesObjectApi.makeApiClient(kube.kubeConfig());
  const created = await client.create(statefulSet('db'));
  t.equal(created.metadata?.generation, 1);
  t.ok(
    kube.requests.some((r) => r.method === 'GET' && r.path === '/apis/apps/v1'),
    'discovery was read',
  );
  const read = await client.read<V1StatefulSet>({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default' },
  });
  t.equal(read.spec?.replicas, 3);
  const list = await client.list('apps/v1', 'StatefulSet', 'default');
  t.same(
    list.items.map((item) => item.metadata?.name),
    ['db'],
  );
  await client.patch(
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'default' },
      spec: { replicas: 5 },
    },
    undefined,
    undefined,
    undefined,
    undefined,
    PatchStrategy.MergePatch,
  );
  t.equal(
    kube.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'default', name: 'db' })?.metadata
      .generation,
    2,
  );
  await client.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'default' },
  });
  await client.delete({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'default' },
  });
  t.ok(kube.requests.some((r) => r.path === '/api/v1'));
});

t.test('StatefulSet status lives in its own subresource', async (t) => {
  const kube = await startFakeKube(t);
  const apps = kube.kubeConfig().makeApiClient(AppsV1Api);
  const namespace = 'default';
  const created = await apps.createNamespacedStatefulSet({ namespace, body: statefulSet('db') });
  t.same(created.status, { replicas: 0, availableReplicas: 0 });

  const viaMain = await apps.replaceNamespacedStatefulSet({
    name: 'db',
    namespace,
    body: {
      ...created,
      spec: { ...created.spec, replicas: 4 } as V1StatefulSet['spec'],
      status: { replicas: 9, readyReplicas: 9 },
    },
  });
  t.equal(viaMain.spec?.replicas, 4);
  t.equal(viaMain.metadata?.generation, 2, 'a spec change bumps the generation');
  t.same(viaMain.status, created.status, 'the main resource ignores .status');

  const viaStatus = await apps.replaceNamespacedStatefulSetStatus({
    name: 'db',
    namespace,
    body: {
      ...viaMain,
      spec: { ...viaMain.spec, replicas: 1 } as V1StatefulSet['spec'],
      status: { replicas: 4, readyReplicas: 4, observedGeneration: 2 },
    },
  });
  t.equal(viaStatus.spec?.replicas, 4, '/status ignores .spec');
  t.equal(viaStatus.status?.readyReplicas, 4);
  t.equal(viaStatus.metadata?.generation, 2, 'a status write keeps the generation');

  const forbidden = await failure(
    apps.replaceNamespacedStatefulSet({
      name: 'db',
      namespace,
      body: { ...viaStatus, spec: { ...viaStatus.spec, serviceName: 'other' } as V1StatefulSet['spec'] },
    }),
  );
  t.match(forbidden, { code: 422, status: { message: /updates to statefulset spec for fields other than/ } });
});

t.test('the fake StatefulSet controller reports replicas ready', async (t) => {
  const kube = await startFakeKube(t, { statefulSetReadyAfterMs: 50 });
  const apps = kube.kubeConfig().makeApiClient(AppsV1Api);
  await apps.createNamespacedStatefulSet({ namespace: 'default', body: statefulSet('db', 2) });
  const ready = async (replicas: number) => {
    const sts = await apps.readNamespacedStatefulSet({ name: 'db', namespace: 'default' });
    return (
      sts.status?.readyReplicas === replicas && sts.status.observedGeneration === sts.metadata?.generation
    );
  };
  await waitFor(() => ready(2), { what: '2 ready replicas' });
  await apps.patchNamespacedStatefulSet(
    { name: 'db', namespace: 'default', body: { spec: { replicas: 3 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await waitFor(() => ready(3), { what: '3 ready replicas' });
  const sts = kube.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'default', name: 'db' });
  t.match(sts?.status, {
    replicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    updatedReplicas: 3,
    observedGeneration: 2,
  });
});

t.test('lists filter by label and field selectors, and page with continue tokens', async (t) => {
  const kube = await startFakeKube(t);
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  const namespace = 'default';
  kube.create(configMap('a', { app: 'shop', tier: 'web' }));
  kube.create(configMap('b', { app: 'shop', tier: 'db' }));
  kube.create(configMap('c', { app: 'blog' }));
  kube.create(configMap('d', {}));
  kube.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'tls', namespace },
    type: 'kubernetes.io/tls',
    data: {},
  });
  kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'plain', namespace }, data: {} });
  const names = async (labelSelector?: string, fieldSelector?: string) =>
    (await core.listNamespacedConfigMap({ namespace, labelSelector, fieldSelector })).items.map(
      (i) => i.metadata?.name,
    );

  t.same(await names('app=shop'), ['a', 'b']);
  t.same(await names('app==shop,tier!=db'), ['a']);
  t.same(await names('tier in (web,db)'), ['a', 'b']);
  t.same(await names('app notin (shop)'), ['c', 'd']);
  t.same(await names('tier'), ['a', 'b']);
  t.same(await names('!tier'), ['c', 'd']);
  t.same(await names('app=shop', 'metadata.name!=a'), ['b']);
  t.same(await names(undefined, 'metadata.name=c'), ['c']);
  const secrets = await core.listNamespacedSecret({ namespace, fieldSelector: 'type=kubernetes.io/tls' });
  t.same(
    secrets.items.map((s) => s.metadata?.name),
    ['tls'],
  );

  const list = await core.listNamespacedConfigMap({ namespace });
  t.match(list, {
    kind: 'ConfigMapList',
    apiVersion: 'v1',
    metadata: { resourceVersion: String(kube.revision) },
  });
  const raw = (await (
    await fetch(`${kube.url}/api/v1/namespaces/default/configmaps`)
  ).json()) as V1ConfigMapList;
  t.equal(raw.items[0].kind, undefined, 'items of a typed list carry no kind, as on the real server');

  t.match(await failure(core.listNamespacedConfigMap({ namespace, fieldSelector: 'data.x=1' })), {
    code: 400,
    status: { reason: 'BadRequest', message: 'field label not supported: data.x' },
  });
  t.equal((await failure(core.listNamespacedConfigMap({ namespace, labelSelector: 'app in (a' }))).code, 400);
  t.equal((await failure(core.listNamespacedConfigMap({ namespace, labelSelector: 'a b' }))).code, 400);

  const first = await core.listNamespacedConfigMap({ namespace, limit: 3 });
  t.same(
    first.items.map((i) => i.metadata?.name),
    ['a', 'b', 'c'],
  );
  t.equal(first.metadata?.remainingItemCount, 1);
  kube.create(configMap('e'));
  const second = await core.listNamespacedConfigMap({
    namespace,
    limit: 3,
    _continue: first.metadata?._continue,
  });
  t.same(
    second.items.map((i) => i.metadata?.name),
    ['d'],
    'later pages are from the first page snapshot',
  );
  t.equal(second.metadata?._continue, undefined);
  t.equal(second.metadata?.resourceVersion, first.metadata?.resourceVersion);

  const exact = await core.listNamespacedConfigMap({
    namespace,
    resourceVersion: first.metadata?.resourceVersion,
    resourceVersionMatch: 'Exact',
  });
  t.same(
    exact.items.map((i) => i.metadata?.name),
    ['a', 'b', 'c', 'd'],
    'an exact list reads the past',
  );
  kube.compact();
  t.match(
    await failure(
      core.listNamespacedConfigMap({ namespace, limit: 3, _continue: first.metadata?._continue }),
    ),
    {
      code: 410,
      status: { reason: 'Expired' },
    },
  );
  t.equal(
    (
      await failure(
        core.listNamespacedConfigMap({
          namespace,
          resourceVersion: first.metadata?.resourceVersion,
          resourceVersionMatch: 'Exact',
        }),
      )
    ).code,
    410,
  );
});
