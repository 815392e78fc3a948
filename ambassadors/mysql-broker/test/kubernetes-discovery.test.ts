/**
 * Kubernetes discovery against the fake kube-apiserver (real list + watch semantics: resume, 410),
 * with real MariaDB servers behind the EndpointSlices. The fake has no endpoints controller, so the
 * tests write the EndpointSlices a real cluster would, pointing at the private servers.
 */

import t from 'tap';
import { startFakeKube } from '../../../test/support/fake-kube/index.js';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { waitFor } from '../../../test/support/wait.js';
import { startBroker } from './helpers.js';
import { answersFrom, brokerArgs, namespace, readyz, slice } from './kube-helpers.js';

t.test(
  'kubernetes discovery: ready EndpointSlice endpoints, followed through changes and resumes',
  async (t) => {
    const kube = await startFakeKube(t, { bookmarkIntervalMs: 200 });
    const [db0, db1] = await Promise.all([startMariaDb(t), startMariaDb(t)]);
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

t.test('--provision leaves a Service that is not podkit-managed alone', async (t) => {
  const kube = await startFakeKube(t);
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
