/**
 * --provision against the fake kube-apiserver (real 409, RBAC and a StatefulSet controller stand-in),
 * with a real MariaDB behind the EndpointSlice the tests write in the endpoints controller's place.
 */

import t from 'tap';
import type { FakeKube, StoredObject } from '../../../test/support/fake-kube/index.js';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { waitFor } from '../../../test/support/wait.js';
import { connectVia, metric, startBroker } from './helpers.js';
import { answersFrom, brokerArgs, namespace, readyz, slice, startKubeUnderRole } from './kube-helpers.js';

const managed = 'app.kubernetes.io/managed-by=podkit';

const list = (kube: FakeKube, kind: string, apiVersion = 'v1') =>
  kube.list({ apiVersion, kind, namespace }, { labelSelector: managed });

function decoded(secret: StoredObject | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries((secret?.data ?? {}) as Record<string, string>).map(([k, v]) => [
      k,
      Buffer.from(v, 'base64').toString(),
    ]),
  );
}

/** A container's env as the kubelet resolves it: secretKeyRef values read from the named Secrets. */
function resolvedEnv(sts: StoredObject, secrets: StoredObject[]): Record<string, string | undefined> {
  const spec = sts.spec as {
    template: {
      spec: {
        containers: { env: { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } }[] }[];
      };
    };
  };
  return Object.fromEntries(
    (spec.template.spec.containers[0]?.env ?? []).map(({ name, valueFrom: { secretKeyRef: ref } }) => [
      name,
      decoded(secrets.find((s) => s.metadata.name === ref.name))[ref.key],
    ]),
  );
}

t.test(
  '--provision: creates the Secrets (app and root apart), headless Service and StatefulSet, waits, then brokers',
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
    const secrets = list(kube, 'Secret');
    const secret = secrets.find((s) => s.metadata.name === 'orders-db-credentials');
    const rootSecret = secrets.find((s) => s.metadata.name === 'orders-db-root');
    const [sts] = list(kube, 'StatefulSet', 'apps/v1');
    const [service] = list(kube, 'Service');
    t.same(secrets.map((s) => s.metadata.name).sort(), ['orders-db-credentials', 'orders-db-root']);
    const data = decoded(secret);
    t.same(
      Object.keys(data).sort(),
      ['database', 'host', 'password', 'port', 'username'],
      "the app's Secret holds only its own credentials and where to connect",
    );
    t.match(data, { username: 'app', database: 'app', host: '127.0.0.1', port: String(broker.port) });
    t.ok(data.password && data.password.length >= 24, 'a generated app password');
    const root = decoded(rootSecret);
    t.equal(root.username, 'root');
    t.ok(root.password && root.password.length >= 24, 'a generated root password, in its own Secret');
    t.notOk(
      Object.values(data).includes(root.password as string),
      "the root password is nowhere in the app's Secret",
    );
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

    // The database's first start, as the kubelet and the mariadb image's entrypoint run it: the
    // StatefulSet's env resolved through the Secrets creates the app's user; the app then logs in
    // through the broker with exactly what its Secret holds.
    const env = resolvedEnv(sts as StoredObject, secrets);
    t.equal(env.MARIADB_ROOT_PASSWORD, root.password, 'the database gets root from the root Secret');
    await db.query(`CREATE DATABASE \`${env.MARIADB_DATABASE}\``);
    await db.query('CREATE USER ?@? IDENTIFIED BY ?', [env.MARIADB_USER, '%', env.MARIADB_PASSWORD]);
    await db.query(`GRANT ALL ON \`${env.MARIADB_DATABASE}\`.* TO ?@?`, [env.MARIADB_USER, '%']);

    const waiting = await readyz(broker.adminUrl);
    t.equal(waiting.status, 503, 'not ready while the database is being created');
    t.match(waiting.body, /provisioning|waiting for StatefulSet default\/orders-db/);
    await broker.waitForLog('provisioned database is ready', 15_000);
    // The endpoints controller's part: the ready pod shows up in the Service's EndpointSlice.
    kube.create(slice('orders-db-abc12', 'orders-db', db));
    await waitFor(async () => (await readyz(broker.adminUrl)).status === 200, { what: '/readyz 200' });
    t.equal(await answersFrom(t, broker, db), db.port, 'brokered to the provisioned database');
    const app = await connectVia(broker, db, {
      user: data.username,
      password: data.password,
      database: data.database,
    });
    t.teardown(() => app.end().catch(() => {}));
    const [[who]] = (await app.query('SELECT CURRENT_USER() AS user, DATABASE() AS db')) as unknown as [
      { user: string; db: string }[],
    ];
    t.same(who, { user: 'app@%', db: 'app' }, "the app logs in with its Secret's credentials");
    await app.end();
    await broker.stop();

    // Restart: nothing new is created, the generated passwords are kept.
    const uids = [secrets.map((o) => o.metadata.uid), [sts?.metadata.uid], [service?.metadata.uid]];
    const again = await startBroker(t, brokerArgs(kube, 'orders-db', ['--provision']));
    t.equal(await answersFrom(t, again, db), db.port);
    t.same(
      [list(kube, 'Secret'), list(kube, 'StatefulSet', 'apps/v1'), list(kube, 'Service')].map((items) =>
        items.map((o) => o.metadata.uid),
      ),
      uids,
      'idempotent on restart: the same four objects',
    );
    t.same(
      list(kube, 'Secret').map((o) => o.data),
      secrets.map((o) => o.data),
      'the credentials did not change',
    );
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
  t.equal(list(kube, 'Secret').length, 2, 'one app Secret and one root Secret');
  t.equal(list(kube, 'StatefulSet', 'apps/v1').length, 1, 'one StatefulSet');
  t.equal(list(kube, 'Service').length, 1, 'one Service');
  const created = [a, b].flatMap((broker) =>
    broker.logs.filter((l) => l.msg === 'provisioned' && l.object === 'StatefulSet shared-db'),
  );
  // The other one got 409, or came late enough to find the finished set.
  const reused = [a, b].flatMap((broker) =>
    broker.logs.filter(
      (l) =>
        (l.msg === 'already exists; reusing it' && l.object === 'StatefulSet shared-db') ||
        l.msg === 'the provisioned set is complete; reusing it',
    ),
  );
  t.equal(created.length, 1, 'exactly one ambassador created the StatefulSet');
  t.equal(reused.length, 1, 'the other one reused it');
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
