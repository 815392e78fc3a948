/**
 * The pure parts, table-driven: packet bytes, greeting parsing, backend ordering from EndpointSlices
 * and SRV records, the pool's "first healthy wins", and configuration errors (exit 2, one line).
 */

import type { V1EndpointSlice } from '@kubernetes/client-node';
import t, { type Test } from 'tap';
import { createLogger } from '../../../lib/log.js';
import { type HostPort, hostPort } from '../../../lib/option-types.js';
import { runPodkit } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import type { CheckResult } from '../src/backend-check.js';
import { BackendPool } from '../src/backend-pool.js';
import { parseDnsName, resolveBackends } from '../src/discovery/dns.js';
import { backendsFromSlices } from '../src/discovery/kubernetes.js';
import { compareNatural } from '../src/discovery/natural-order.js';
import { errPacket, loginPacket, parseServerHello } from '../src/protocol.js';
import {
  credentialsSecret,
  databaseStatefulSet,
  headlessService,
  rootSecret,
} from '../src/provision/manifests.js';

t.test(
  'errPacket: header, 0xff, code little-endian, message; no SQL state before the handshake',
  async (t) => {
    const bytes = errPacket(1040, 'Too many connections');
    t.same([...bytes.subarray(0, 7)], [23, 0, 0, 0, 0xff, 0x10, 0x04]);
    t.equal(bytes.subarray(7).toString(), 'Too many connections');
    const long = errPacket(1053, 'x'.repeat(300));
    t.equal(long.readUIntLE(0, 3), 303, 'a three-byte length');
  },
);

t.test('parseServerHello: greeting, ERR, something else, incomplete', async (t) => {
  const greeting = Buffer.concat([
    Buffer.from([0x0a]),
    Buffer.from('10.11.19-MariaDB\0', 'latin1'),
    Buffer.alloc(40, 1),
  ]);
  const framed = (payload: Buffer) => Buffer.concat([Buffer.from([payload.length, 0, 0, 0]), payload]);
  t.match(parseServerHello(framed(greeting)), { kind: 'greeting', serverVersion: '10.11.19-MariaDB' });
  t.match(parseServerHello(errPacket(1129, "Host '10.0.0.1' is blocked")), {
    kind: 'error',
    code: 1129,
    message: "Host '10.0.0.1' is blocked",
  });
  const withState = framed(
    Buffer.concat([Buffer.from([0xff, 0x15, 0x04]), Buffer.from('#28000Access denied')]),
  );
  t.match(parseServerHello(withState), { kind: 'error', code: 1045, message: 'Access denied' });
  t.match(
    parseServerHello(framed(Buffer.from([0x09, 0x41, 0]))),
    { kind: 'other', firstByte: 9 },
    'protocol 9',
  );
  t.equal(parseServerHello(framed(greeting).subarray(0, 10)), undefined, 'incomplete: wait for more');
});

t.test('loginPacket: sequence after the greeting, user, empty auth, plugin name', async (t) => {
  const bytes = loginPacket('podkit-health', 1);
  t.equal(bytes[3], 1, 'sequence 1');
  t.equal(bytes.readUIntLE(0, 3), bytes.length - 4);
  t.match(bytes.subarray(36).toString('latin1'), /^podkit-health\0\0mysql_native_password\0$/);
});

t.test('backendsFromSlices: ready endpoints only, port named mysql, pods in numeric order', async (t) => {
  const slices: V1EndpointSlice[] = [
    {
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.0.0.10'], hostname: 'db-10' },
        { addresses: ['10.0.0.2'], hostname: 'db-2', conditions: { ready: true } },
        { addresses: ['10.0.0.3'], hostname: 'db-3', conditions: { ready: false } },
      ],
      ports: [
        { name: 'metrics', port: 9104 },
        { name: 'mysql', port: 3306 },
      ],
    },
    {
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'], hostname: 'db-1' }],
      ports: [{ port: 3307 }],
    },
    { addressType: 'IPv4', endpoints: null as unknown as [], ports: [{ name: 'mysql', port: 3306 }] },
    {
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.9'] }],
      ports: [
        { name: 'a', port: 1 },
        { name: 'b', port: 2 },
      ],
    },
  ];
  t.same(backendsFromSlices(slices).map(String), ['10.0.0.1:3307', '10.0.0.2:3306', '10.0.0.10:3306']);
});

t.test('compareNatural: the order of Intl.Collator numeric mode, without ICU, and total', async (t) => {
  const icu = new Intl.Collator('en', { numeric: true });
  const names = [
    ...['db-10', 'db-2', 'db-1', 'db', 'DB-3', 'cache-0', 'db-1a', 'db-1-b', 'mysql-0', 'mysql2-0'],
    ...['10.0.0.10', '10.0.0.9', '10.0.1.1', '9.255.255.255', '192.168.0.1'],
    ...['fd00:10:244::1', 'fd00:10:244:1::1', '2001:db8::1', '2001:db8:1::1', '::1', 'fe80::a', 'fe80::9'],
    ...['db.example.com', 'db2.example.com', 'db-0.db.default.svc.cluster.local.', 'a_b', 'a b'],
    ...['18446744073709551617', '18446744073709551616', '9'],
  ];
  t.same([...names].sort(compareNatural), [...names].sort(icu.compare), 'real-looking names');

  // Random short names over the characters that matter: digits (and leading zeros), case, punctuation.
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const alphabet = 'aZb0019-.:_ ';
  const name = () =>
    Array.from({ length: 1 + Math.floor(random() * 6) }, () => alphabet[Math.floor(random() * 12)]).join('');
  const disagreements: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const [a, b] = [name(), name()];
    const ours = Math.sign(compareNatural(a, b));
    const theirs = Math.sign(icu.compare(a, b));
    // ICU calls names equal that differ only in leading zeros; ours orders them, equal only if identical.
    if (theirs === 0 ? (ours === 0) !== (a === b) : ours !== theirs) disagreements.push(`${a} | ${b}`);
  }
  t.same(disagreements, [], '20,000 random pairs');
  const zeros = Math.sign(compareNatural('db-07', 'db-7'));
  t.not(zeros, 0, 'names ICU calls equal are still ordered (a sort does not depend on input order)');
  t.equal(Math.sign(compareNatural('db-7', 'db-07')), -zeros, 'and the other way round the opposite way');
});

t.test(
  'DNS names: host:port for A/AAAA (sorted), _service._proto.name for SRV by priority, then weight',
  async (t) => {
    t.same(parseDnsName('mysql.db:3306'), { kind: 'address', host: 'mysql.db', port: 3306 });
    t.same(parseDnsName('_mysql._tcp.mysql.db.svc.cluster.local'), {
      kind: 'srv',
      name: '_mysql._tcp.mysql.db.svc.cluster.local',
    });
    t.throws(() => parseDnsName('mysql.db'), /host:port \(A\/AAAA records\) or an SRV name/);
    const resolver = {
      lookup: async () => [
        { address: '10.0.0.10', family: 4 },
        { address: '10.0.0.2', family: 4 },
        { address: '10.0.0.1', family: 4 },
        { address: '10.0.0.2', family: 4 },
      ],
      resolveSrv: async () => [
        { name: 'c.example.', port: 3306, priority: 20, weight: 100 },
        { name: 'b.example', port: 3306, priority: 10, weight: 5 },
        { name: 'a.example', port: 3307, priority: 10, weight: 50 },
      ],
    };
    t.same((await resolveBackends({ kind: 'address', host: 'x', port: 3306 }, resolver)).map(String), [
      '10.0.0.1:3306',
      '10.0.0.2:3306',
      '10.0.0.10:3306',
    ]);
    t.same((await resolveBackends({ kind: 'srv', name: '_mysql._tcp.x' }, resolver)).map(String), [
      'a.example:3307',
      'b.example:3306',
      'c.example:3306',
    ]);
  },
);

/**
 * A read-write pool over backends a:1 then b:1, started, with a test's own health check; changes of
 * primary and failovers are recorded as "from>to", unhealthy backends by key.
 */
function startedPool(
  t: Test,
  timing: { intervalMs: number; timeoutMs: number },
  check: (address: HostPort) => Promise<CheckResult>,
) {
  const changes: string[] = [];
  const failovers: string[] = [];
  const unhealthy: string[] = [];
  const pool = new BackendPool(
    { role: 'read-write', user: '', log: createLogger('mysql-broker', 'silent'), ...timing, check },
    {
      onPrimaryChange: (from, to) => changes.push(`${from?.key ?? '-'}>${to?.key ?? '-'}`),
      onFailover: (from, to) => failovers.push(`${from}>${to}`),
      onUnhealthy: (b) => unhealthy.push(b.key),
    },
  );
  t.teardown(() => pool.stop());
  pool.setBackends([hostPort('a', 1), hostPort('b', 1)]);
  pool.start();
  return { pool, changes, failovers, unhealthy };
}

t.test('BackendPool: first checks answering out of order at start-up are no failover', async (t) => {
  // The preferred backend answers its first check after the second one does.
  const { pool, changes, failovers } = startedPool(
    t,
    { intervalMs: 1000, timeoutMs: 500 },
    async (address) => {
      if (address.toString() === 'a:1') await new Promise((resolve) => setTimeout(resolve, 50));
      return { healthy: true, detail: 'MySQL test' };
    },
  );
  await waitFor(() => changes.length >= 2, { what: 'both first checks answered' });
  t.same(changes, ['->b:1', 'b:1>a:1'], 'b served until a answered');
  t.equal(pool.primary?.key, 'a:1', 'first healthy wins');
  t.same(failovers, [], 'settling on the preferred backend is not counted as a failover');
  pool.markFailed('a:1', 'connection refused');
  t.same(failovers, ['a:1>b:1'], 'losing it afterwards is');
});

t.test('BackendPool: first healthy in list order wins; a change of primary is a failover', async (t) => {
  const health = new Map<string, boolean>([
    ['a:1', true],
    ['b:1', true],
  ]);
  const { pool, changes, failovers, unhealthy } = startedPool(
    t,
    { intervalMs: 10, timeoutMs: 100 },
    async (address) => {
      const healthy = health.get(address.toString()) ?? false;
      return { healthy, detail: healthy ? 'MySQL test' : 'connection refused' };
    },
  );
  const primaryBecomes = (key: string) =>
    waitFor(() => pool.primary?.key === key, { what: `${key} the primary` });
  await primaryBecomes('a:1');
  t.equal(pool.primary?.key, 'a:1');
  health.set('a:1', false);
  await primaryBecomes('b:1');
  t.equal(pool.primary?.key, 'b:1', 'failover to the next healthy backend');
  t.same(unhealthy, ['a:1']);
  health.set('a:1', true);
  await primaryBecomes('a:1');
  t.equal(pool.primary?.key, 'a:1', 'the first backend wins again when healthy');
  pool.markFailed('a:1', 'connection refused');
  t.equal(pool.primary?.key, 'b:1', 'a failed connection takes the backend out at once');
  t.same(changes.slice(0, 3), ['->a:1', 'a:1>b:1', 'b:1>a:1']);
  t.same(failovers, ['a:1>b:1', 'b:1>a:1', 'a:1>b:1'], 'every change of primary is a failover');
  // An outage in between (no primary for a while) still counts as one failover when another takes over.
  health.set('b:1', false);
  pool.markFailed('b:1', 'connection refused');
  t.equal(pool.primary, undefined, 'no healthy backend for a moment');
  health.set('a:1', true);
  await primaryBecomes('a:1');
  t.equal(pool.primary?.key, 'a:1');
  t.same(failovers.at(-1), 'b:1>a:1', 'b to a, across the outage');
  pool.setBackends([]);
  t.equal(pool.primary, undefined);
  t.equal(pool.describe(), 'no backends discovered');
});

t.test(
  'provisioned objects: deterministic names, credentials for the app, a volume claim template',
  async (t) => {
    const spec = {
      service: 'orders-db',
      namespace: 'shop',
      image: 'mariadb:11',
      storage: '5Gi',
      appHost: '127.0.0.1',
      appPort: 3306,
    };
    const secret = credentialsSecret(spec, 'a');
    t.equal(secret.metadata?.name, 'orders-db-credentials');
    t.same(secret.stringData, {
      username: 'app',
      password: 'a',
      database: 'app',
      host: '127.0.0.1',
      port: '3306',
    });
    const root = rootSecret(spec, 'r');
    t.equal(root.metadata?.name, 'orders-db-root');
    t.same(root.stringData, { username: 'root', password: 'r' });
    t.equal(headlessService(spec).spec?.clusterIP, 'None');
    const sts = databaseStatefulSet(spec);
    t.equal(sts.metadata?.name, 'orders-db');
    t.equal(sts.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, '5Gi');
    t.same(
      sts.spec?.template.spec?.containers[0]?.env?.map((e) => [
        e.name,
        e.valueFrom?.secretKeyRef?.name,
        e.valueFrom?.secretKeyRef?.key,
      ]),
      [
        ['MARIADB_ROOT_PASSWORD', 'orders-db-root', 'password'],
        ['MARIADB_USER', 'orders-db-credentials', 'username'],
        ['MARIADB_PASSWORD', 'orders-db-credentials', 'password'],
        ['MARIADB_DATABASE', 'orders-db-credentials', 'database'],
      ],
      'the database reads its passwords from the Secrets (root from its own), never from the StatefulSet',
    );
  },
);

t.test('bad configuration: one line naming the option, exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /--backends is required with --discovery static/],
    [['--discovery', 'dns'], /--dns-name is required with --discovery dns/],
    [['--discovery', 'dns', '--dns-name', 'mysql'], /--dns-name "mysql": expected host:port/],
    [['--discovery', 'kubernetes'], /--service is required with --discovery kubernetes/],
    [['--backends', 'a:1', '--provision'], /--provision needs --discovery kubernetes/],
    [['--backends', 'a:1', '--read-only-backends', 'b:1'], /--read-only-backends needs --listen-read-only/],
    [['--backends', 'a:99999'], /invalid --backends "a:99999": expected a comma-separated list/],
    [['--backends', 'a:1', '--max-connections', '-1'], /invalid --max-connections "-1"/],
    [
      ['--discovery', 'kubernetes', '--service', 'Orders_DB'],
      /invalid --service "Orders_DB": expected a Kubernetes Service name/,
    ],
    [['--backends', 'a:1', '--provision-storage', 'lots'], /expected a Kubernetes quantity/],
  ];
  for (const [args, message] of cases) {
    const result = await runPodkit(['mysql-broker', ...args, '--termination-log', '']);
    t.equal(result.code, 2, args.join(' ') || '(no options)');
    t.match(result.stderr, message);
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  }
});
