import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import t from 'tap';
import { ErrorCode, PodkitError } from '../../lib/errors.js';
import {
  type ChangeType,
  type KubeLocation,
  kubeAccess,
  resolveNamespace,
  type WatchOptions,
  type WatchTarget,
  watchResources,
} from '../../lib/kube.js';
import { type FakeKube, startFakeKube } from '../support/fake-kube/index.js';
import type { Teardown } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const configMaps: WatchTarget = { apiVersion: 'v1', resource: 'configmaps', namespace: 'default' };
const path = '/api/v1/namespaces/default/configmaps';
const fast: WatchOptions = { backoffInitialMs: 20, backoffMaxMs: 100 };

function configMap(name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels }, data };
}

function ref(name: string) {
  return { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name };
}

/** A consumer that keeps a view of the watched set, as a component would. */
function follow(t: Teardown, kc: KubeConfig, target: WatchTarget, options: WatchOptions = fast) {
  const view = new Map<string, KubernetesObject>();
  const snapshots: string[][] = [];
  const changes: string[] = [];
  const errors: Error[] = [];
  const watch = watchResources<KubernetesObject>(
    kc,
    target,
    {
      onSnapshot(items) {
        view.clear();
        for (const item of items) view.set(String(item.metadata?.name), item);
        snapshots.push(items.map((item) => String(item.metadata?.name)));
      },
      onChange(type: ChangeType, obj) {
        changes.push(`${type} ${obj.metadata?.name}`);
        if (type === 'DELETED') view.delete(String(obj.metadata?.name));
        else view.set(String(obj.metadata?.name), obj);
      },
      onError(err) {
        errors.push(err);
      },
    },
    options,
  );
  t.teardown(() => watch.stop());
  return { watch, view, snapshots, changes, errors, names: () => [...view.keys()].sort() };
}

function lists(kube: FakeKube): number {
  return kube.requests.filter((r) => r.method === 'GET' && r.path === path && r.query.watch === undefined)
    .length;
}

function watches(kube: FakeKube) {
  return kube.requests.filter((r) => r.path === path && r.query.watch === 'true');
}

/** The credentials alone, as a component gets them from --kubeconfig (or none). */
const loadKubeConfig = (kubeconfig?: string, location?: KubeLocation) =>
  kubeAccess({ kubeconfig }, location).kc;

t.test('credentials: explicit path, KUBECONFIG, in-cluster, or a clear error', async (t) => {
  const kube = await startFakeKube(t);
  const saved = {
    KUBECONFIG: process.env.KUBECONFIG,
    HOST: process.env.KUBERNETES_SERVICE_HOST,
    PORT: process.env.KUBERNETES_SERVICE_PORT,
  };
  t.teardown(() => {
    for (const [key, value] of [
      ['KUBECONFIG', saved.KUBECONFIG],
      ['KUBERNETES_SERVICE_HOST', saved.HOST],
      ['KUBERNETES_SERVICE_PORT', saved.PORT],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  delete process.env.KUBECONFIG;
  delete process.env.KUBERNETES_SERVICE_HOST;

  t.equal(loadKubeConfig(kube.kubeconfigPath).getCurrentCluster()?.server, kube.url);
  t.throws(() => loadKubeConfig(), { code: ErrorCode.KUBE_API, message: /no Kubernetes credentials/ });
  t.throws(() => loadKubeConfig('/nonexistent/kubeconfig'), { code: ErrorCode.KUBE_API, message: /ENOENT/ });

  process.env.KUBECONFIG = kube.kubeconfigPath;
  t.equal(loadKubeConfig().getCurrentCluster()?.server, kube.url);
  delete process.env.KUBECONFIG;

  process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
  process.env.KUBERNETES_SERVICE_PORT = '443';
  const root = await mkdtemp(join(tmpdir(), 'podkit-sa-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const error = t.throws(() => loadKubeConfig(undefined, { inClusterRoot: root })) as unknown;
  t.ok(error instanceof PodkitError);
  t.match((error as Error).message, /no service account token at .*serviceaccount\/token/);
  const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  await mkdir(sa, { recursive: true });
  await writeFile(join(sa, 'token'), 'sa-token');
  await writeFile(join(sa, 'namespace'), 'team-a');
  const kc = loadKubeConfig(undefined, { inClusterRoot: root });
  t.equal(kc.getCurrentCluster()?.server, 'https://10.96.0.1:443');
  t.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, 'team-a');
});

t.test('the namespace: explicit, else the kubeconfig context, else the pod, else default', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'podkit-pod-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  await mkdir(sa, { recursive: true });
  await writeFile(join(sa, 'namespace'), 'pod-ns\n');
  const noPod = join(root, 'nowhere');
  const kubeconfig = (namespace?: string) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u', ...(namespace ? { namespace } : {}) }],
      currentContext: 'x',
    });
    return kc;
  };
  const table: [string, string | undefined, KubeConfig, 'kubeconfig' | 'in-cluster', string, string][] = [
    ['explicit wins over the context', 'given', kubeconfig('ctx-ns'), 'kubeconfig', root, 'given'],
    ['explicit wins in a pod', 'given', kubeconfig(), 'in-cluster', root, 'given'],
    [
      "a kubeconfig: its context's, not the pod's",
      undefined,
      kubeconfig('ctx-ns'),
      'kubeconfig',
      root,
      'ctx-ns',
    ],
    ['a kubeconfig whose context has none: default', undefined, kubeconfig(), 'kubeconfig', root, 'default'],
    ["in a pod: the service account's namespace file", undefined, kubeconfig(), 'in-cluster', root, 'pod-ns'],
    ['in a pod without the file: default', undefined, kubeconfig(), 'in-cluster', noPod, 'default'],
  ];
  for (const [what, explicit, kc, source, inClusterRoot, expected] of table) {
    t.equal(resolveNamespace(explicit, kc, source, { inClusterRoot }), expected, what);
  }
});

t.test(
  'kubeAccess: credentials and namespace together, from a kubeconfig or from inside a pod',
  async (t) => {
    const kube = await startFakeKube(t);
    const saved = { KUBECONFIG: process.env.KUBECONFIG, HOST: process.env.KUBERNETES_SERVICE_HOST };
    t.teardown(() => {
      for (const [key, value] of [
        ['KUBECONFIG', saved.KUBECONFIG],
        ['KUBERNETES_SERVICE_HOST', saved.HOST],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });
    const root = await mkdtemp(join(tmpdir(), 'podkit-pod-'));
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'token'), 'sa-token');
    await writeFile(join(sa, 'namespace'), 'pod-ns');
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    delete process.env.KUBECONFIG;

    const inPod = kubeAccess({}, { inClusterRoot: root });
    t.same([inPod.source, inPod.namespace], ['in-cluster', 'pod-ns']);
    const flagged = kubeAccess({ kubeconfig: kube.kubeconfigPath }, { inClusterRoot: root });
    t.same(
      [flagged.source, flagged.namespace],
      ['kubeconfig', 'default'],
      '--kubeconfig in a pod: its context',
    );
    t.equal(flagged.kc.getCurrentCluster()?.server, kube.url);
    process.env.KUBECONFIG = kube.kubeconfigPath;
    const fromEnv = kubeAccess({}, { inClusterRoot: root });
    t.same(
      [fromEnv.source, fromEnv.namespace],
      ['kubeconfig', 'default'],
      '$KUBECONFIG in a pod: its context',
    );
    t.equal(kubeAccess({ namespace: 'given' }, { inClusterRoot: root }).namespace, 'given');
  },
);

t.test('a snapshot first, then every change in order; handlers never overlap', async (t) => {
  const kube = await startFakeKube(t, { bookmarkIntervalMs: 50 });
  kube.create(configMap('a', { app: 'web' }));
  kube.create(configMap('b', { app: 'web' }));
  kube.create(configMap('other', { app: 'db' }));
  let running = 0;
  let overlapped = false;
  const seen: string[] = [];
  const snapshot: KubernetesObject[][] = [];
  const watch = watchResources(
    kube.kubeConfig(),
    { ...configMaps, labelSelector: 'app=web' },
    {
      onSnapshot: (items) => {
        snapshot.push(items);
      },
      async onChange(type, obj) {
        running += 1;
        overlapped ||= running > 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
        seen.push(`${type} ${obj.metadata?.name}`);
        running -= 1;
      },
    },
    fast,
  );
  t.teardown(() => watch.stop());
  await waitFor(() => snapshot.length === 1 && kube.openWatches === 1);
  t.same(
    snapshot[0].map((o) => o.metadata?.name),
    ['a', 'b'],
  );
  t.match(snapshot[0][0], { kind: 'ConfigMap', apiVersion: 'v1' }, 'listed items look like watched ones');
  t.equal(watch.resourceVersion, String(kube.revision));

  kube.create(configMap('c', { app: 'web' }));
  kube.patch(ref('a'), { data: { v: '2' } });
  kube.delete(ref('b'));
  kube.patch(ref('other'), { data: { v: '2' } });
  await waitFor(() => seen.length === 3);
  t.same(seen, ['ADDED c', 'MODIFIED a', 'DELETED b']);
  t.notOk(overlapped, 'async handlers run one at a time');
  await waitFor(() => watch.resourceVersion === String(kube.revision), {
    what: 'the version to follow events',
  });
});

t.test('a stream ended by the server resumes from the last resourceVersion, without a re-list', async (t) => {
  const kube = await startFakeKube(t);
  kube.create(configMap('a'));
  const c = follow(t, kube.kubeConfig(), configMaps);
  await waitFor(() => c.snapshots.length === 1 && kube.openWatches === 1);
  kube.create(configMap('b'));
  await waitFor(() => c.changes.length === 1);
  const last = c.watch.resourceVersion;

  kube.endWatches();
  kube.create(configMap('c'));
  kube.delete(ref('a'));
  await waitFor(() => c.changes.length === 3, { what: 'the missed changes' });
  t.same(c.changes, ['ADDED b', 'ADDED c', 'DELETED a']);
  t.same(c.names(), ['b', 'c']);
  t.equal(lists(kube), 1, 'no re-list');
  t.equal(watches(kube).at(-1)?.query.resourceVersion, last, 'resumed from the last seen version');
  t.equal(watches(kube).at(-1)?.query.allowWatchBookmarks, 'true');
  t.same(c.errors, []);
});

t.test('bookmarks advance the resume point', async (t) => {
  const kube = await startFakeKube(t, { bookmarkIntervalMs: 50 });
  const c = follow(t, kube.kubeConfig(), configMaps);
  await waitFor(() => c.snapshots.length === 1);
  kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' } });
  await waitFor(() => c.watch.resourceVersion === String(kube.revision), {
    what: 'a bookmark with the new revision',
  });
  t.same(c.changes, [], 'other resources are not delivered');
});

t.test('a compacted version gets 410, and the watch re-lists a fresh snapshot', async (t) => {
  const kube = await startFakeKube(t);
  kube.create(configMap('a'));
  kube.create(configMap('b'));
  const c = follow(t, kube.kubeConfig(), configMaps);
  await waitFor(() => c.snapshots.length === 1 && kube.openWatches === 1);

  // The resume will ask for a version from before these writes, and history no longer has it.
  kube.endWatches();
  kube.delete(ref('a'));
  kube.create(configMap('c'));
  kube.compact();
  await waitFor(() => c.snapshots.length === 2, { what: 'a second snapshot' });
  t.same(c.snapshots[1], ['b', 'c']);
  t.same(c.names(), ['b', 'c']);
  t.same(c.changes, [], 'the missed changes arrive as a snapshot, not as events');
  t.equal(lists(kube), 2);
  t.same(c.errors, [], 'expiry is routine, not an error');
});

t.test('survives the API going away, backs off, and catches up when it returns', async (t) => {
  const kube = await startFakeKube(t);
  kube.create(configMap('a'));
  kube.create(configMap('b'));
  const c = follow(t, kube.kubeConfig(), configMaps, { backoffInitialMs: 20, backoffMaxMs: 160 });
  await waitFor(() => c.snapshots.length === 1 && kube.openWatches === 1);

  await kube.stop();
  kube.patch(ref('a'), { data: { v: 'while-down' } });
  kube.delete(ref('b'));
  kube.create(configMap('c'));
  await waitFor(() => c.errors.length >= 4, { what: 'several failed retries' });
  const downFor = Date.now();
  await waitFor(() => Date.now() - downFor > 400);
  // Backoff, not a busy loop: at most ~one attempt per 80-160 ms once the delay has grown.
  t.ok(c.errors.length < 15, `${c.errors.length} retries while down`);
  t.ok(c.errors.every((err) => err instanceof PodkitError && err.code === ErrorCode.KUBE_API));
  t.match(c.errors[1].message, /ECONNREFUSED/);

  await kube.start();
  await waitFor(
    () => c.names().join() === 'a,c' && c.view.get('a')?.metadata?.resourceVersion !== undefined,
    {
      what: 'the changes made while down',
    },
  );
  t.same((c.view.get('a') as { data?: unknown }).data, { v: 'while-down' });
  t.same(c.changes, ['MODIFIED a', 'DELETED b', 'ADDED c'], 'caught up from history');
  t.equal(c.snapshots.length, 1);
});

t.test('an ERROR event other than 410 is reported and followed by a re-list', async (t) => {
  // The API server behind the same address is replaced by one with an older history (an etcd restore):
  // resuming from a version it has never reached gets "Too large resource version".
  const before = await startFakeKube(t);
  for (const name of ['a', 'b', 'c', 'd']) before.create(configMap(name));
  const after = await startFakeKube(t);
  after.create(configMap('restored'));
  const kc = before.kubeConfig();
  const c = follow(t, kc, configMaps);
  await waitFor(() => c.snapshots.length === 1 && before.openWatches === 1);
  kc.clusters = kc.clusters.map((cluster) => ({ ...cluster, server: after.url }));
  before.endWatches();
  await waitFor(() => c.snapshots.length === 2, { what: 'a re-list from the new server' });
  t.same(c.snapshots[1], ['restored']);
  t.match(c.errors, [{ statusCode: 504, message: /Too large resource version/ }]);
});

t.test('errors from the server are reported and retried: 403 until access is granted', async (t) => {
  const kube = await startFakeKube(t);
  kube.create(configMap('a'));
  kube.deny('list', 'configmaps', 'default');
  const c = follow(t, kube.kubeConfig(), configMaps);
  await waitFor(() => c.errors.length >= 2);
  t.match(c.errors[0], {
    statusCode: 403,
    message: /configmaps is forbidden: User .* cannot list resource "configmaps"/,
  });
  kube.allow('list', 'configmaps', 'default');
  kube.failNext(2, 503, { path: /configmaps$/ });
  await waitFor(() => c.snapshots.length === 1);
  t.same(c.snapshots[0], ['a']);
  t.ok(c.errors.some((err) => /503/.test(err.message)));
});

t.test('a periodic re-list delivers a fresh snapshot', async (t) => {
  const kube = await startFakeKube(t);
  kube.create(configMap('a'));
  const c = follow(t, kube.kubeConfig(), configMaps, { ...fast, resyncIntervalMs: 300 });
  await waitFor(() => c.snapshots.length === 1);
  kube.create(configMap('b'));
  await waitFor(() => c.snapshots.length >= 3, { what: 'two resyncs' });
  t.same(c.snapshots.at(-1), ['a', 'b']);
  t.equal(kube.openWatches, 1, 'each resync replaces the stream');
});

t.test('the watchdog restarts a stream that delivers nothing', async (t) => {
  const kube = await startFakeKube(t, { bookmarkIntervalMs: 60_000 });
  const c = follow(t, kube.kubeConfig(), configMaps, { ...fast, idleTimeoutMs: 200 });
  await waitFor(() => c.snapshots.length === 1);
  const version = c.watch.resourceVersion;
  await waitFor(() => watches(kube).length >= 3, { what: 'two restarts' });
  t.ok(
    watches(kube).every((w) => w.query.resourceVersion === version),
    'restarts resume, they do not re-list',
  );
  t.equal(lists(kube), 1);
  await waitFor(() => kube.openWatches === 1, { what: 'the abandoned stream to be closed' });
  kube.create(configMap('late'));
  await waitFor(() => c.changes.includes('ADDED late'));
});

t.test('stop() is prompt and leaves nothing behind', async (t) => {
  const kube = await startFakeKube(t);
  const active = (type: string) => process.getActiveResourcesInfo().filter((r) => r === type).length;
  const timers = active('Timeout');
  const sockets = active('TCPSocketWrap');
  const c = follow(t, kube.kubeConfig(), configMaps, {
    ...fast,
    resyncIntervalMs: 60_000,
    idleTimeoutMs: 60_000,
  });
  await waitFor(() => c.snapshots.length === 1 && kube.openWatches === 1);
  t.ok(active('Timeout') > timers, 'the watch has timers while running');
  const started = Date.now();
  await c.watch.stop();
  t.ok(Date.now() - started < 500, 'prompt');
  await waitFor(
    () => kube.openWatches === 0 && active('Timeout') === timers && active('TCPSocketWrap') === sockets,
    {
      what: 'no timers or sockets left',
    },
  );
  kube.create(configMap('after'));
  t.same(c.changes, [], 'no handler calls after stop');
  await c.watch.stop();
});

t.test('stop() also cuts a request the server never answers', async (t) => {
  const sockets = new Set<Socket>();
  let closed = 0;
  // Accepts connections, reads the request, never answers.
  const blackHole = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
    socket.on('close', () => {
      closed += 1;
    });
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    blackHole.close();
  });
  const port = (blackHole.address() as { port: number }).port;
  const kube = await startFakeKube(t);
  const kc = kube.kubeConfig();
  kc.clusters = kc.clusters.map((cluster) => ({ ...cluster, server: `http://127.0.0.1:${port}` }));
  const c = follow(t, kc, configMaps);
  await waitFor(() => sockets.size === 1, { what: 'the list request to connect' });
  const started = Date.now();
  await c.watch.stop();
  t.ok(Date.now() - started < 500, 'prompt');
  await waitFor(() => closed === 1, { what: 'the connection to be closed' });
});

t.test('the watchdog also cuts a watch whose response never starts', async (t) => {
  let watchRequests = 0;
  let closedWatches = 0;
  // Answers lists, and accepts watches without ever sending response headers.
  const server = createHttpServer((req, res) => {
    if (req.url?.includes('watch=true')) {
      watchRequests += 1;
      req.socket.on('close', () => {
        closedWatches += 1;
      });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'ConfigMapList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '7' },
        items: [],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const kube = await startFakeKube(t);
  const kc = kube.kubeConfig();
  kc.clusters = kc.clusters.map((cluster) => ({
    ...cluster,
    server: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
  }));
  const c = follow(t, kc, configMaps, { ...fast, idleTimeoutMs: 150 });
  await waitFor(() => watchRequests >= 3 && closedWatches >= 2, {
    what: 'hung watches to be cut and retried',
  });
  t.same(c.snapshots, [[]]);
  await c.watch.stop();
  await waitFor(() => closedWatches === watchRequests, { what: 'every watch connection closed' });
});
