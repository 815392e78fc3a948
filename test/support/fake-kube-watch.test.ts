/**
 * The fake API server against the real client, watches and faults: Watch and informers must work
 * unmodified; streams end, expire, resume; auth, RBAC and outages look like a real cluster's.
 */

import { AppsV1Api, CoreV1Api, KubeConfig, makeInformer } from '@kubernetes/client-node';
import t from 'tap';
import { configMap, failure, record, statefulSet } from './fake-kube/client-helpers.js';
import { startFakeKube } from './fake-kube/index.js';
import { waitFor } from './wait.js';

t.test('a watch replays from a resourceVersion, and resumes exactly after the server ends it', async (t) => {
  const kube = await startFakeKube(t);
  const kc = kube.kubeConfig();
  const path = '/api/v1/namespaces/default/configmaps';
  kube.create(configMap('a'));
  const from = String(kube.revision);
  kube.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' }, { data: { x: '1' } });
  kube.create(configMap('b'));

  const initial = await record(kc, path, {});
  await waitFor(() => initial.events.length === 2);
  t.same(initial.summary(), ['ADDED a', 'ADDED b'], 'without a resourceVersion: the current state as ADDED');
  initial.abort();

  const watch = await record(kc, path, { resourceVersion: from });
  await waitFor(() => watch.events.length === 2);
  t.same(watch.summary(), ['MODIFIED a', 'ADDED b'], 'from a resourceVersion: the history after it');

  kube.endWatches();
  await waitFor(() => watch.ended !== undefined, { what: 'the done callback' });
  t.equal(watch.ended?.err, null, 'a server-side end is a clean end');
  t.equal(kube.openWatches, 0);
  const last = String(watch.events.at(-1)?.object.metadata?.resourceVersion);
  kube.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' });
  kube.create(configMap('c'));

  const resumed = await record(kc, path, { resourceVersion: last, allowWatchBookmarks: true });
  await waitFor(() => resumed.events.length >= 2);
  t.same(resumed.summary().slice(0, 2), ['DELETED a', 'ADDED c'], 'exactly the missed events');
  kube.create(configMap('d'));
  await waitFor(() => resumed.summary().includes('ADDED d'), { what: 'a live event' });
  resumed.abort();
});

t.test('a compacted resourceVersion gets a 410 ERROR event; an informer re-lists', async (t) => {
  const kube = await startFakeKube(t);
  const kc = kube.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const path = '/api/v1/namespaces/default/configmaps';
  kube.create(configMap('a'));
  const old = String(kube.revision);
  kube.create(configMap('b'));
  kube.compact();

  const expired = await record(kc, path, { resourceVersion: old });
  await waitFor(() => expired.ended !== undefined);
  t.equal(expired.events.length, 1);
  t.match(expired.events[0], {
    type: 'ERROR',
    object: {
      kind: 'Status',
      status: 'Failure',
      reason: 'Expired',
      code: 410,
      message: new RegExp(`^too old resource version: ${old} \\(`),
    },
  });

  const informer = makeInformer(kc, path, () => core.listNamespacedConfigMap({ namespace: 'default' }));
  const seen: string[] = [];
  informer.on('add', (obj) => seen.push(`add ${obj.metadata?.name}`));
  informer.on('update', (obj) => seen.push(`update ${obj.metadata?.name}`));
  informer.on('delete', (obj) => seen.push(`delete ${obj.metadata?.name}`));
  informer.on('error', () => {});
  await informer.start();
  await waitFor(() => seen.length === 2 && kube.openWatches === 1);
  kube.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' }, { data: { v: '1' } });
  await waitFor(() => seen.includes('update a'));

  // While the informer is away, changes happen and history is compacted: its resourceVersion is now too old.
  await informer.stop();
  kube.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'b' });
  kube.create(configMap('c'));
  kube.compact();
  const listsBefore = kube.requests.filter((r) => r.path === path && r.query.watch === undefined).length;
  await informer.start();
  await waitFor(() => seen.includes('delete b') && seen.includes('add c'), {
    what: 'the re-list to reconcile',
  });
  t.same(
    informer
      .list('default')
      .map((o) => o.metadata?.name)
      .sort(),
    ['a', 'c'],
  );
  t.ok(
    kube.requests.some(
      (r) =>
        r.query.watch === 'true' &&
        r.query.resourceVersion !== '' &&
        Number(r.query.resourceVersion) < kube.revision,
    ),
  );
  const listsAfter = kube.requests.filter((r) => r.path === path && r.query.watch === undefined).length;
  t.equal(listsAfter, listsBefore + 1, 'exactly one re-list');
  await informer.stop();
});

t.test('bookmarks, and selector transitions as ADDED and DELETED', async (t) => {
  const kube = await startFakeKube(t, { bookmarkIntervalMs: 50 });
  const kc = kube.kubeConfig();
  kube.create(configMap('a', { app: 'shop' }));
  const watch = await record(kc, '/api/v1/namespaces/default/configmaps', {
    labelSelector: 'app=shop',
    allowWatchBookmarks: true,
  });
  await waitFor(() => watch.events.some((e) => e.type === 'BOOKMARK'), { what: 'a bookmark' });
  const bookmark = watch.events.find((e) => e.type === 'BOOKMARK');
  t.same(bookmark?.object, {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { resourceVersion: String(kube.revision) },
  });

  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' };
  kube.patch(ref, { data: { x: '1' } });
  kube.patch(ref, { metadata: { labels: { app: 'blog' } } });
  const leftAt = String(kube.revision);
  kube.patch(ref, { data: { x: '2' } });
  kube.patch(ref, { metadata: { labels: { app: 'shop' } } });
  kube.create(configMap('other', { app: 'blog' }));
  await waitFor(() => watch.events.filter((e) => e.type !== 'BOOKMARK').length === 4);
  const changes = watch.events.filter((e) => e.type !== 'BOOKMARK');
  t.same(
    changes.map((e) => e.type),
    ['ADDED', 'MODIFIED', 'DELETED', 'ADDED'],
  );
  t.equal(
    changes[2].object.metadata?.resourceVersion,
    leftAt,
    'the DELETED carries the revision that moved it out',
  );
  t.same(changes[3].object.data, { x: '2' });
  watch.abort();
});

t.test('auth: a token is required when configured', async (t) => {
  const kube = await startFakeKube(t, { token: 's3cret' });
  const good = kube.kubeConfig().makeApiClient(CoreV1Api);
  t.equal((await good.listNamespace()).items.length, 2);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: kube.url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'wrong' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const bad = await failure(kc.makeApiClient(CoreV1Api).listNamespace());
  t.equal(bad.code, 401);
  const watch = await record(kc, '/api/v1/namespaces', {});
  await waitFor(() => watch.ended !== undefined);
  t.equal((watch.ended?.err as { statusCode?: number } | undefined)?.statusCode, 401);
});

t.test('RBAC denials and injected faults', async (t) => {
  const kube = await startFakeKube(t);
  const kc = kube.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  kube.deny('list', 'configmaps', 'default');
  const denied = await failure(core.listNamespacedConfigMap({ namespace: 'default' }));
  t.equal(denied.code, 403);
  t.equal(
    denied.status.message,
    'configmaps is forbidden: User "system:serviceaccount:default:podkit" cannot list resource "configmaps" in API group "" in the namespace "default"',
  );
  t.equal(
    (await core.listNamespacedConfigMap({ namespace: 'kube-system' })).items.length,
    0,
    'other namespaces are allowed',
  );
  kube.deny('update', 'statefulsets/status');
  kube.create(statefulSet('db'));
  const apps = kc.makeApiClient(AppsV1Api);
  const sts = await apps.readNamespacedStatefulSet({ name: 'db', namespace: 'default' });
  t.match(
    await failure(apps.replaceNamespacedStatefulSetStatus({ name: 'db', namespace: 'default', body: sts })),
    {
      code: 403,
      status: {
        message:
          /^statefulsets.apps "db" is forbidden: .* cannot update resource "statefulsets\/status" in API group "apps"/,
      },
    },
  );
  kube.deny('watch', 'configmaps');
  const watch = await record(kc, '/api/v1/namespaces/default/configmaps', {});
  await waitFor(() => watch.ended !== undefined);
  t.equal((watch.ended?.err as { statusCode?: number } | undefined)?.statusCode, 403);
  kube.allow('list', 'configmaps', 'default');
  t.equal((await core.listNamespacedConfigMap({ namespace: 'default' })).items.length, 0);

  kube.failNext(2, 500, { method: 'GET', path: /\/secrets$/ });
  t.match(await failure(core.listNamespacedSecret({ namespace: 'default' })), {
    code: 500,
    status: { reason: 'InternalError' },
  });
  t.equal(
    (await core.listNamespacedConfigMap({ namespace: 'default' })).kind,
    'ConfigMapList',
    'other paths unaffected',
  );
  t.equal((await failure(core.listNamespacedSecret({ namespace: 'default' }))).code, 500);
  t.equal((await core.listNamespacedSecret({ namespace: 'default' })).kind, 'SecretList', 'only the next 2');
  kube.failNext(1, 503);
  const unavailable = await fetch(`${kube.url}/api/v1/namespaces`);
  t.equal(unavailable.status, 503);
  t.equal(unavailable.headers.get('retry-after'), '1');
});

t.test('stop() cuts connections and start() brings the same data back on the same port', async (t) => {
  const kube = await startFakeKube(t);
  const kc = kube.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  kube.create(configMap('a'));
  const watch = await record(kc, '/api/v1/namespaces/default/configmaps', {});
  await waitFor(() => watch.events.length === 1);
  await kube.stop();
  await waitFor(() => watch.ended !== undefined, { what: 'the watch to be cut' });
  t.ok(watch.ended?.err, 'a cut stream is an error, not a clean end');
  // fetch (undici) says "fetch failed" and keeps the reason in `cause`.
  await t.rejects(core.listNamespacedConfigMap({ namespace: 'default' }), {
    cause: { code: 'ECONNREFUSED' },
  });
  kube.create(configMap('b'));
  await kube.start();
  const list = await core.listNamespacedConfigMap({ namespace: 'default' });
  t.same(
    list.items.map((i) => i.metadata?.name),
    ['a', 'b'],
  );
});

t.test('watch timeouts end streams cleanly; history is bounded', async (t) => {
  const kube = await startFakeKube(t, { maxWatchSeconds: 0.2, historyLimit: 3 });
  const uncapped = await startFakeKube(t);
  const kc = kube.kubeConfig();
  const capped = await record(kc, '/api/v1/namespaces/default/configmaps', {});
  // Before the request: the server's timer starts when it arrives.
  const started = Date.now();
  const asked = await record(uncapped.kubeConfig(), '/api/v1/configmaps', {
    timeoutSeconds: '1',
    resourceVersion: '0',
  });
  await waitFor(() => capped.ended !== undefined, { what: 'the capped stream to end' });
  t.equal(capped.ended?.err, null, 'the server maximum ends a stream cleanly');
  await waitFor(() => asked.ended !== undefined, { what: 'the stream with timeoutSeconds to end' });
  t.equal(asked.ended?.err, null, 'timeoutSeconds ends a stream cleanly');
  t.ok(Date.now() - started >= 900, 'after the requested time');

  const first = String(kube.revision);
  for (const name of ['a', 'b', 'c', 'd']) kube.create(configMap(name));
  const tooOld = await record(kc, '/api/v1/namespaces/default/configmaps', { resourceVersion: first });
  await waitFor(() => tooOld.ended !== undefined);
  t.match(tooOld.events, [{ type: 'ERROR', object: { code: 410 } }], 'only the last 3 events are kept');
  const recent = await fetch(
    `${kube.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${kube.revision - 2}`,
  );
  const reader = recent.body?.getReader();
  const chunk = new TextDecoder().decode((await reader?.read())?.value);
  t.match(chunk, /^\{"type":"ADDED","object":\{"kind":"ConfigMap","apiVersion":"v1".*"name":"c"/);
  await reader?.cancel();
});

t.test('discovery documents, deletecollection, method and path errors', async (t) => {
  const kube = await startFakeKube(t);
  const json = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${kube.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  t.match((await json('/api')).body, { kind: 'APIVersions', versions: ['v1'] });
  const groups = (await json('/apis')).body.groups as { name: string }[];
  t.same(groups.map((g) => g.name).sort(), ['apps', 'coordination.k8s.io', 'discovery.k8s.io']);
  const apps = (await json('/apis/apps/v1')).body.resources as {
    name: string;
    kind: string;
    namespaced: boolean;
  }[];
  t.same(
    apps.map((r) => r.name),
    ['statefulsets', 'statefulsets/status'],
  );
  const core = (await json('/api/v1')).body.resources as { name: string; namespaced: boolean }[];
  t.same(core.find((r) => r.name === 'namespaces')?.namespaced, false);

  const client = kube.kubeConfig().makeApiClient(CoreV1Api);
  for (const name of ['a', 'b', 'c']) kube.create(configMap(name, { doomed: name === 'c' ? 'no' : 'yes' }));
  await client.deleteCollectionNamespacedConfigMap({ namespace: 'default', labelSelector: 'doomed=yes' });
  t.same(
    kube.list({ apiVersion: 'v1', resource: 'configmaps', namespace: 'default' }).map((o) => o.metadata.name),
    ['c'],
  );

  t.match(await json('/api/v1/namespaces/default/configmaps/c', { method: 'POST', body: '{}' }), {
    status: 405,
    body: { reason: 'MethodNotAllowed' },
  });
  t.match(await json('/api/v1/namespaces/default/widgets'), {
    status: 404,
    body: { kind: 'Status', reason: 'NotFound' },
  });
  t.match(
    await json('/api/v1/namespaces/default/configmaps', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'x' } }),
    }),
    { status: 400, body: { message: /API version in the data \(apps\/v1\) does not match/ } },
  );
});
