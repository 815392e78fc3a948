/**
 * --provision against the fake kube-apiserver (real 409, RBAC and a StatefulSet controller stand-in),
 * with a real MariaDB behind the EndpointSlice the tests write in the endpoints controller's place.
 */

import t from 'tap';
import type { FakeKube, StoredObject } from '../../../test/support/fake-kube/index.js';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { waitFor } from '../../../test/support/wait.js';
import { metric, startBroker } from './helpers.js';
import { answersFrom, brokerArgs, namespace, readyz, slice, startKubeUnderRole } from './kube-helpers.js';

const managed = 'app.kubernetes.io/managed-by=podkit';

const list = (kube: FakeKube, kind: string, apiVersion = 'v1') =>
  kube.list({ apiVersion, kind, namespace }, { labelSelector: managed });

t.test(
  '--provision: creates the Secret, headless Service and StatefulSet, waits, then brokers',
  async (t) => {
    const kube = await startKubeUnderRole(t, ['--provision'], { statefulSetReadyAfterMs: 1500 });
    const db = await startMariaDb(t);
    const broker = await startBroker(
      t,
      brokerArgs(kube, 'orders-db', [
        '--provision',
        '--provision-storage',
        '2Gi',
        '--provision-image',
        'mariadb:11.4',
      ]),
      { ready: false },
    );
    await waitFor(() => list(kube, 'Service').length === 1, { what: 'the Service' });
    const [secret] = list(kube, 'Secret');
    const [sts] = list(kube, 'StatefulSet', 'apps/v1');
    const [service] = list(kube, 'Service');
    t.equal(secret?.metadata.name, 'orders-db-credentials');
    const data = Object.fromEntries(
      Object.entries((secret?.data ?? {}) as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString(),
      ]),
    );
    t.match(data, { username: 'app', database: 'app', host: '127.0.0.1', port: String(broker.port) });
    t.ok(data.password && data.password.length >= 24, 'a generated app password');
    t.ok(
      data.MARIADB_ROOT_PASSWORD && data.MARIADB_ROOT_PASSWORD !== data.password,
      'a separate root password',
    );
    t.equal(data.MARIADB_PASSWORD, data.password);
    t.match(service?.spec, { clusterIP: 'None', ports: [{ name: 'mysql', port: 3306 }] });
    const spec = sts?.spec as {
      serviceName: string;
      template: {
        spec: { containers: { image: string; securityContext: object }[]; securityContext: object };
      };
      volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[];
    };
    t.equal(spec.serviceName, 'orders-db');
    t.equal(spec.template.spec.containers[0]?.image, 'mariadb:11.4');
    t.match(spec.template.spec.securityContext, { runAsNonRoot: true });
    t.match(spec.template.spec.containers[0]?.securityContext, { allowPrivilegeEscalation: false });
    t.equal(spec.volumeClaimTemplates[0]?.spec.resources.requests.storage, '2Gi');
    for (const obj of [secret, sts, service] as StoredObject[]) {
      t.equal(
        obj.metadata.labels?.['app.kubernetes.io/managed-by'],
        'podkit',
        `${obj.kind} is labelled podkit-managed`,
      );
    }

    const waiting = await readyz(broker.adminUrl);
    t.equal(waiting.status, 503, 'not ready while the database is being created');
    t.match(waiting.body, /provisioning|waiting for StatefulSet default\/orders-db/);
    await broker.waitForLog('provisioned database is ready', 15_000);
    // The endpoints controller's part: the ready pod shows up in the Service's EndpointSlice.
    kube.create(slice('orders-db-abc12', 'orders-db', db));
    await waitFor(async () => (await readyz(broker.adminUrl)).status === 200, { what: '/readyz 200' });
    t.equal(await answersFrom(t, broker, db), db.port, 'brokered to the provisioned database');
    await broker.stop();

    // Restart: nothing new is created, the generated passwords are kept.
    const uids = [secret, sts, service].map((o) => o?.metadata.uid);
    const again = await startBroker(t, brokerArgs(kube, 'orders-db', ['--provision']));
    t.equal(await answersFrom(t, again, db), db.port);
    t.same(
      [list(kube, 'Secret'), list(kube, 'StatefulSet', 'apps/v1'), list(kube, 'Service')].map((items) =>
        items.map((o) => o.metadata.uid),
      ),
      uids.map((uid) => [uid]),
      'idempotent on restart: the same three objects',
    );
    t.same(list(kube, 'Secret')[0]?.data, secret?.data, 'the credentials did not change');
  },
);

t.test('two ambassadors provisioning at once create one set', async (t) => {
  const kube = await startKubeUnderRole(t, ['--provision'], { statefulSetReadyAfterMs: 500 });
  const db = await startMariaDb(t);
  const [a, b] = await Promise.all([
    startBroker(t, brokerArgs(kube, 'shared-db', ['--provision']), { ready: false }),
    startBroker(t, brokerArgs(kube, 'shared-db', ['--provision']), { ready: false }),
  ]);
  await Promise.all([a, b].map((broker) => broker.waitForLog('provisioned database is ready', 15_000)));
  kube.create(slice('shared-db-x1', 'shared-db', db));
  await waitFor(async () => (await answersFrom(t, a, db)) === db.port, {
    what: 'the first ambassador brokering',
  });
  t.equal(await answersFrom(t, b, db), db.port, 'both ambassadors broker to the one database');
  t.equal(list(kube, 'Secret').length, 1, 'one Secret');
  t.equal(list(kube, 'StatefulSet', 'apps/v1').length, 1, 'one StatefulSet');
  t.equal(list(kube, 'Service').length, 1, 'one Service');
  const created = [a, b].flatMap((broker) =>
    broker.logs.filter((l) => l.msg === 'provisioned' && l.object === 'StatefulSet shared-db'),
  );
  const reused = [a, b].flatMap((broker) =>
    broker.logs.filter((l) => l.msg === 'already exists; reusing it' && l.object === 'StatefulSet shared-db'),
  );
  t.equal(created.length, 1, 'exactly one ambassador created the StatefulSet');
  t.equal(reused.length, 1, 'the other one got 409 and reused it');
});

t.test(
  '--provision without RBAC for statefulsets: /readyz says 403, the log why, and it recovers once allowed',
  async (t) => {
    const kube = await startKubeUnderRole(t, ['--provision'], { statefulSetReadyAfterMs: 200 });
    kube.deny('create', 'statefulsets');
    const broker = await startBroker(t, brokerArgs(kube, 'denied-db', ['--provision']), { ready: false });
    // The log has the request that was refused and the API's answer; /readyz (open to anyone who
    // reaches the admin port) only the status code.
    const logged = await broker.waitForLog((line) => line.code === 'PODKIT_ERR_KUBE_API', 30_000);
    t.match(logged.err, /POST \/apis\/apps\/v1\/namespaces\/[\w-]+\/statefulsets: 403 Forbidden/);
    t.match(logged.err, /statefulsets.*forbidden|forbidden.*statefulsets/i);
    await waitFor(async () => /provisioning failed \(HTTP 403\)/.test((await readyz(broker.adminUrl)).body), {
      what: '/readyz naming the 403',
    });
    t.notMatch((await readyz(broker.adminUrl)).body, /forbidden|\/apis\//i, 'not the API answer');
    t.equal(await metric(broker.adminUrl, 'podkit_ready'), 0);
    kube.allow('create', 'statefulsets');
    await broker.waitForLog('provisioned database is ready', 30_000);
    t.equal(list(kube, 'StatefulSet', 'apps/v1').length, 1, 'created after the permission was granted');
  },
);
