/**
 * Backends that die or freeze: failover within --health-interval, open connections to a dead backend
 * closed, failback to the first healthy backend, and health checks that finish the MySQL handshake so
 * the broker's host is never blocked by max_connect_errors.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startMariaDb, startMariaDbs } from '../../../test/support/mariadb.js';
import { waitFor } from '../../../test/support/wait.js';
import { backendArg, connectVia, mariadbCli, metric, primaryIs, serverPort, startBroker } from './helpers.js';

const healthIntervalMs = 500;
/** The machine is shared by several engineers: every timing bound has a generous margin. */
const margin = 4000;

t.test('kill the active backend: new connections go to the other within --health-interval', async (t) => {
  const [first, second] = await startMariaDbs(t, 2);
  const broker = await startBroker(t, [
    '--backends',
    backendArg(first, second),
    '--health-interval',
    `${healthIntervalMs}ms`,
  ]);
  await primaryIs(broker, first);
  const open = await connectVia(broker, first);
  t.equal(await serverPort(open), first.port, 'the first healthy backend wins');
  const closed = new Promise<void>((resolve) => open.once('end', () => resolve()));

  await first.kill();
  const killedAt = Date.now();
  await waitFor(
    async () => {
      const conn = await connectVia(broker, first).catch(() => undefined);
      if (!conn) return false;
      const port = await serverPort(conn).catch(() => 0);
      await conn.end().catch(() => {});
      return port === second.port;
    },
    { timeoutMs: healthIntervalMs + margin, intervalMs: 50, what: 'a new connection on the second backend' },
  );
  t.ok(Date.now() - killedAt < healthIntervalMs + margin, `failed over in ${Date.now() - killedAt} ms`);
  await closed;
  t.pass('the open connection to the dead backend was closed');
  await waitFor(
    async () =>
      (await metric(broker.adminUrl, 'podkit_mysql_broker_failovers_total', { role: 'read-write' })) === 1,
    { what: 'failovers_total 1' },
  );
  t.equal(
    await metric(broker.adminUrl, 'podkit_mysql_broker_backend_up', {
      backend: `${first.host}:${first.port}`,
      role: 'read-write',
    }),
    0,
  );
  t.equal(
    await metric(broker.adminUrl, 'podkit_mysql_broker_backend_primary', {
      backend: `${second.host}:${second.port}`,
      role: 'read-write',
    }),
    1,
  );
  t.equal((await fetch(`${broker.adminUrl}/readyz`)).status, 200, 'still ready: a healthy backend exists');

  // First healthy wins: when the first backend is back, new connections return to it.
  await first.start();
  await waitFor(
    async () => {
      const conn = await connectVia(broker, first);
      const port = await serverPort(conn);
      await conn.end();
      return port === first.port;
    },
    { timeoutMs: healthIntervalMs + margin, what: 'new connections back on the first backend' },
  );
  t.pass('back on the first backend once it answers again');
});

t.test('a frozen backend: its open connections are closed, new ones go elsewhere', async (t) => {
  const [first, second] = await startMariaDbs(t, 2);
  const broker = await startBroker(t, [
    '--backends',
    backendArg(first, second),
    '--health-interval',
    `${healthIntervalMs}ms`,
    '--connect-timeout',
    '1s',
  ]);
  await primaryIs(broker, first);
  const open = await connectVia(broker, first);
  t.equal(await serverPort(open), first.port);
  await first.freeze();
  t.teardown(() => first.thaw());
  const frozenAt = Date.now();
  // A query to a stopped server would wait forever; the broker cuts it once the check fails.
  await t.rejects(open.query('SELECT 1'), 'the query on the frozen backend fails instead of hanging');
  const elapsed = Date.now() - frozenAt;
  t.ok(elapsed < healthIntervalMs + 1000 + margin, `the connection was closed after ${elapsed} ms`);
  const conn = await connectVia(broker, second);
  t.equal(await serverPort(conn), second.port, 'new connections go to the healthy backend');
  await conn.end();
});

/** A non-loopback address of this machine: MariaDB keeps no host cache for loopback clients. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((nic) => nic && nic.family === 'IPv4' && !nic.internal)?.address;
}

t.test(
  'health checks finish the handshake: the broker host is not blocked by max_connect_errors',
  async (t) => {
    const address = externalAddress();
    t.ok(address, 'this machine has a non-loopback IPv4 address');
    if (!address) return;
    // Name resolution on (MariaDB's default; the test support turns it off): with it off, MariaDB keeps
    // no host cache and never blocks a host. 127.0.0.1 then logs in as root@localhost, and a user for
    // any host lets this machine's address past the host check. root exists only for local addresses,
    // so a root login from that address gets 1045 -- unless the host is blocked, when the server
    // answers 1129 before any login.
    const password = 'podkit-test-root';
    const initFile = join(mkdtempSync(join(tmpdir(), 'podkit-broker-')), 'init.sql');
    writeFileSync(
      initFile,
      ['localhost', '127.0.0.1']
        .map(
          (host) =>
            `CREATE OR REPLACE USER 'root'@'${host}' IDENTIFIED BY '${password}';\n` +
            `GRANT ALL ON *.* TO 'root'@'${host}' WITH GRANT OPTION;\n`,
        )
        .concat("CREATE OR REPLACE USER 'app'@'%' IDENTIFIED BY 'app-password';\n")
        .join(''),
    );
    const db = await startMariaDb(t, {
      password,
      args: [
        '--bind-address=0.0.0.0',
        '--max-connect-errors=3',
        '--skip-name-resolve=OFF',
        `--init-file=${initFile}`,
      ],
    });
    const backend = `${address}:${db.port}`;
    // The server counts every connection attempt, refused ones included; each of these reads is one.
    let reads = 0;
    const connections = async () => {
      reads++;
      const [row] = await db.query<{ Value: string }[]>("SHOW GLOBAL STATUS LIKE 'Connections'");
      return Number(row?.Value);
    };
    const run = async (healthUser: string) => {
      const before = await connections();
      const readsBefore = reads;
      const broker = await startBroker(
        t,
        ['--backends', backend, '--health-interval', '50ms', '--health-user', healthUser],
        {
          ready: false,
        },
      );
      // Ten times max_connect_errors.
      await waitFor(async () => (await connections()) - before - (reads - readsBefore) >= 30, {
        timeoutMs: 30 * 50 + margin,
        what: '30 health checks reaching the server',
      });
      const cli = await mariadbCli(broker, db.password, 'SELECT 1');
      await broker.stop();
      return cli.stderr;
    };
    t.match(
      await run('podkit-health'),
      /1045|Access denied/,
      'with a health user: the host is still allowed',
    );
    t.match(
      await run(''),
      /1129|is blocked because of many connection errors|no healthy backend.*blocked/,
      'greeting-only checks get the host blocked (why --health-user exists)',
    );
  },
);
