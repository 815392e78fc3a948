/**
 * Kubernetes discovery against the fake kube-apiserver (real list + watch semantics: resume, 410),
 * with real MariaDB servers behind the EndpointSlices. The fake has no endpoints controller, so the
 * tests write the EndpointSlices a real cluster would, pointing at the private servers.
 */

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { endpointSlicesFor } from '../../../test/support/fake-kube/endpoint-slices.js';
import { httpRequest } from '../../../test/support/http.js';
import { startMariaDb, startMariaDbs } from '../../../test/support/mariadb.js';
import { distDir, startComponent } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { connectVia, serverPort, startBroker } from './helpers.js';
import {
  answersFrom,
  applySlices,
  brokerArgs,
  namespace,
  readyz,
  slice,
  startKubeUnderRole,
} from './kube-helpers.js';

t.test(
  'kubernetes discovery: ready EndpointSlice endpoints, followed through changes and resumes',
  async (t) => {
    const kube = await startKubeUnderRole(t, [], { bookmarkIntervalMs: 200 });
    const [db0, db1] = await startMariaDbs(t, 2);
    kube.create(slice('db-1', 'db', db1));
    kube.create(slice('db-0', 'db', db0, false));
    const broker = await startBroker(t, brokerArgs(kube, 'db'));
    t.equal(await answersFrom(t, broker, db1), db1.port, 'a not-ready endpoint is never used');

    kube.patch(
      { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespace, name: 'db-0' },
      { endpoints: [{ addresses: [db0.host], hostname: 'db-0', conditions: { ready: true } }] },
    );
    await waitFor(async () => (await answersFrom(t, broker, db0)) === db0.port, {
      what: 'db-0 (first by pod name) once it is ready',
    });
    t.pass('db-0 became ready: it sorts first and wins');

    // The watch stream ends and history is compacted: the broker must resume (or re-list) and still
    // see the next change.
    kube.endWatches();
    kube.compact();
    kube.delete({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespace, name: 'db-0' });
    await waitFor(async () => (await answersFrom(t, broker, db1)) === db1.port, {
      timeoutMs: 15_000,
      what: 'db-1 after db-0 left the slices',
    });
    t.pass('a deleted slice is seen after the watch was resumed');
    kube.delete({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespace, name: 'db-1' });
    await waitFor(async () => (await readyz(broker.adminUrl)).status === 503, { what: '/readyz 503' });
    t.match((await readyz(broker.adminUrl)).body, /no backends discovered/);
  },
);

/** The backends the broker health-checks for new read-write connections, from /metrics. */
async function backends(adminUrl: string): Promise<string[]> {
  const body = (await httpRequest(`${adminUrl}/metrics`)).body;
  return [...body.matchAll(/^podkit_mysql_broker_backend_up\{backend="([^"]+)",role="read-write"\}/gm)]
    .map((m) => m[1] as string)
    .sort();
}

t.test(
  'EndpointSlices as the controller writes them: dual-stack, a terminating pod, another manager',
  async (t) => {
    const kube = await startKubeUnderRole(t, [], { bookmarkIntervalMs: 200 });
    const [db0, db1] = await Promise.all([startMariaDb(t), startMariaDb(t)]);
    // A StatefulSet's headless Service that publishes not-ready pods: the controller keeps a terminating
    // pod's endpoint ready. MariaDB listens on 127.0.0.1 only, so an IPv6 backend would never answer.
    const service = {
      name: 'db',
      namespace,
      headless: true,
      publishNotReadyAddresses: true,
      ipFamilies: ['IPv4', 'IPv6'] as ('IPv4' | 'IPv6')[],
    };
    const pod = (index: number, db: typeof db0, terminating = false) => ({
      name: `db-${index}`,
      hostname: `db-${index}`,
      uid: `pod-uid-${index}-${terminating}`,
      ipv4: db.host,
      ipv6: '::1',
      port: db.port,
      terminating,
    });
    applySlices(kube, 'db', endpointSlicesFor(service, [pod(0, db0, true), pod(1, db1)]));
    // Another controller's slice for the same Service (a mesh, a hand-written one): not followed.
    const foreign = endpointSlicesFor(service, [{ ...pod(0, db0), name: 'aaa', hostname: 'aaa' }], {
      managedBy: 'someone-else.example.com',
    });
    for (const other of foreign)
      kube.create({ ...other, metadata: { ...other.metadata, name: `x-${other.metadata.name}` } });

    const broker = await startBroker(t, brokerArgs(kube, 'db'));
    t.equal(await answersFrom(t, broker, db1), db1.port, 'new connections avoid the terminating db-0');
    t.same(
      await backends(broker.adminUrl),
      [`${db1.host}:${db1.port}`],
      'db-1 once: no IPv6 twin, no foreign slice',
    );

    // db-0 comes back as a new, ready pod: it sorts first again.
    applySlices(kube, 'db', endpointSlicesFor(service, [pod(0, db0), pod(1, db1)]));
    await waitFor(async () => (await answersFrom(t, broker, db0)) === db0.port, {
      what: 'db-0 once it is back',
    });
    t.same(await backends(broker.adminUrl), [db0, db1].map((db) => `${db.host}:${db.port}`).sort());
  },
);

t.test('--provision leaves a Service that is not podkit-managed alone', async (t) => {
  const kube = await startKubeUnderRole(t, ['--provision']);
  const db = await startMariaDb(t);
  kube.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'theirs', namespace },
    spec: { clusterIP: 'None', ports: [{ name: 'mysql', port: 3306 }] },
  });
  kube.create(slice('theirs-1', 'theirs', db));
  const broker = await startBroker(t, brokerArgs(kube, 'theirs', ['--provision']));
  t.equal(await answersFrom(t, broker, db), db.port);
  t.equal(
    kube.list({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace }).length,
    0,
    'no StatefulSet created',
  );
  t.equal(kube.list({ apiVersion: 'v1', kind: 'Secret', namespace }).length, 0, 'no Secret created');
});

t.test("--kubeconfig in a pod: the context's namespace, not the pod's own", async (t) => {
  // Bound in the context's namespace only: following any other would be refused.
  const kube = await startKubeUnderRole(t, [], {}, 'team-ctx');
  const db = await startMariaDb(t);
  kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-ctx' } });
  const inTeam = slice('db-0', 'db', db);
  inTeam.metadata.namespace = 'team-ctx';
  kube.create(inTeam);
  const dir = await mkdtemp(join(tmpdir(), 'podkit-in-pod-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // The pod's own namespace (its service account's file) differs from the kubeconfig context's.
  const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
  await mkdir(sa, { recursive: true });
  await writeFile(join(sa, 'namespace'), 'team-pod\n');
  await writeFile(join(sa, 'token'), 'pod-token\n');
  const config = parse(await readFile(kube.kubeconfigPath, 'utf8'));
  config.contexts[0].context.namespace = 'team-ctx';
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, stringify(config));

  const broker = await startComponent(
    t,
    'mysql-broker',
    [
      'mysql-broker',
      '--listen',
      '127.0.0.1:0',
      '--discovery',
      'kubernetes',
      '--service',
      'db',
      '--kubeconfig',
      kubeconfig,
      '--health-interval',
      '300ms',
    ],
    {
      script: join(distDir, 'test/fixtures/in-pod.js'),
      env: { PODKIT_TEST_POD_ROOT: dir, KUBERNETES_SERVICE_HOST: '10.96.0.1' },
      timeoutMs: 60_000,
      // Judged by the namespace it follows first: in the wrong one it would never be ready.
      ready: false,
    },
  );
  const following = await broker.waitForLog('following the Service through its EndpointSlices');
  t.equal(following.namespace, 'team-ctx');
  await waitFor(async () => (await readyz(broker.adminUrl)).status === 200, { what: '/readyz 200' });
  const [host, port] = (await broker.address('read-write')).split(':') as [string, string];
  const conn = await connectVia({ host, port: Number(port) }, db);
  t.teardown(() => conn.end().catch(() => {}));
  t.equal(await serverPort(conn), db.port, "the backend behind the Service in the context's namespace");
});
