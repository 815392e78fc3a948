/**
 * What a user sees when things break: a dead or frozen backend (failover, open connections closed),
 * no backend, too many connections, a connect timeout (the client prints the ERR message), SIGTERM
 * with live connections, /quitquitquit, and health checks that do not get the broker's host blocked.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { freePort } from '../../../test/support/ports.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  backendArg,
  connectError,
  connectVia,
  mariadbCli,
  metric,
  serverPort,
  startBroker,
} from './helpers.js';

const healthIntervalMs = 500;
/** The machine is shared by several engineers: every timing bound has a generous margin. */
const margin = 4000;

t.test('kill the active backend: new connections go to the other within --health-interval', async (t) => {
  const [first, second] = await Promise.all([startMariaDb(t), startMariaDb(t)]);
  const broker = await startBroker(t, [
    '--backends',
    backendArg(first, second),
    '--health-interval',
    `${healthIntervalMs}ms`,
  ]);
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
  const [first, second] = await Promise.all([startMariaDb(t), startMariaDb(t)]);
  const broker = await startBroker(t, [
    '--backends',
    backendArg(first, second),
    '--health-interval',
    `${healthIntervalMs}ms`,
    '--connect-timeout',
    '1s',
  ]);
  const open = await connectVia(broker, first);
  t.equal(await serverPort(open), first.port);
  first.freeze();
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

t.test('no healthy backend: the client prints the ERR message and exits non-zero', async (t) => {
  const db = await startMariaDb(t);
  const nobody = await freePort();
  const broker = await startBroker(t, ['--backends', `127.0.0.1:${nobody}`, '--health-interval', '300ms'], {
    ready: false,
  });
  const readyz = await fetch(`${broker.adminUrl}/readyz`);
  t.equal(readyz.status, 503, '/readyz is 503 without a healthy backend');
  const cli = await mariadbCli(broker, db.password, 'SELECT 1');
  t.not(cli.code, 0, 'the mariadb client exits non-zero');
  t.match(cli.stderr, /1053\b.*no healthy backend/, cli.stderr);
  t.match(
    cli.stderr,
    new RegExp(`127\\.0\\.0\\.1:${nobody}: connection refused`),
    'names the backend and why',
  );
  const err = await connectError(broker, db);
  t.equal(err.code, 'ER_SERVER_SHUTDOWN', 'mysql2 reports the ERR code');
  t.equal(err.errno, 1053);
  t.equal(
    await metric(broker.adminUrl, 'podkit_mysql_broker_refused_connections_total', { reason: 'no_backend' }),
    2,
  );
});

t.test('--max-connections reached: ERR 1040 Too many connections', async (t) => {
  const db = await startMariaDb(t);
  const broker = await startBroker(t, ['--backends', backendArg(db), '--max-connections', '2']);
  const held = [await connectVia(broker, db), await connectVia(broker, db)];
  t.teardown(() => Promise.all(held.map((conn) => conn.end().catch(() => {}))));
  const cli = await mariadbCli(broker, db.password, 'SELECT 1');
  t.not(cli.code, 0);
  t.match(cli.stderr, /1040\b.*Too many connections.*--max-connections 2 reached/, cli.stderr);
  const err = await connectError(broker, db);
  t.equal(err.code, 'ER_CON_COUNT_ERROR');
  t.equal(
    await metric(broker.adminUrl, 'podkit_mysql_broker_refused_connections_total', {
      reason: 'max_connections',
    }),
    2,
  );
  await held[0]?.end();
  await waitFor(async () => (await mariadbCli(broker, db.password, 'SELECT 41 + 1')).stdout.trim() === '42', {
    what: 'a connection accepted again once one closed',
  });
  t.pass('a slot freed: connections are accepted again');
});

t.test('connect timeout: a backend that accepts but never greets gets ERR 1159', async (t) => {
  const db = await startMariaDb(t);
  // A long health interval: the backend passed its first check, so the broker still believes in it.
  const broker = await startBroker(t, [
    '--backends',
    backendArg(db),
    '--health-interval',
    '60s',
    '--connect-timeout',
    '1s',
  ]);
  db.freeze();
  t.teardown(() => db.thaw());
  const started = Date.now();
  const cli = await mariadbCli(broker, db.password, 'SELECT 1');
  const elapsed = Date.now() - started;
  t.not(cli.code, 0);
  t.match(cli.stderr, /1159\b.*gave no MySQL greeting within 1000 ms/, cli.stderr);
  t.ok(elapsed >= 900 && elapsed < 1000 + margin, `answered after ${elapsed} ms, not a hang`);
  t.equal(
    await metric(broker.adminUrl, 'podkit_mysql_broker_refused_connections_total', {
      reason: 'connect_timeout',
    }),
    1,
  );
  t.equal(
    (await fetch(`${broker.adminUrl}/readyz`)).status,
    503,
    'the timed-out backend counts as unhealthy',
  );
});

t.test('SIGTERM: stop accepting, a query in flight finishes, idle connections close, exit 0', async (t) => {
  const db = await startMariaDb(t);
  const broker = await startBroker(t, ['--backends', backendArg(db), '--shutdown-timeout', '10s']);
  const idle = await connectVia(broker, db);
  await idle.query('SELECT 1');
  const idleClosed = new Promise<void>((resolve) => idle.once('end', () => resolve()));
  const busy = await connectVia(broker, db);
  const query = busy.query('SELECT SLEEP(2) AS slept, 7 AS answer');
  await sleep(300);
  const signalledAt = Date.now();
  broker.signal('SIGTERM');
  await broker.waitForLog('shutting down');
  await t.rejects(connectVia(broker, db), /ECONNREFUSED|ECONNRESET/, 'new connections are refused');
  await idleClosed;
  t.ok(
    Date.now() - signalledAt < 2000,
    'the idle (pooled) connection was closed without waiting for the deadline',
  );
  const [rows] = await query;
  t.same(rows, [{ slept: 0, answer: 7 }], 'the query in flight finished with its result');
  await busy.end().catch(() => {});
  const exit = await broker.exited;
  t.equal(exit.code, 0, 'exit 0');
  t.ok(Date.now() - signalledAt < 10_000, 'before the deadline');
});

t.test('POST /quitquitquit ends the broker with exit 0 (a Job can complete)', async (t) => {
  const db = await startMariaDb(t);
  const broker = await startBroker(t, ['--backends', backendArg(db)]);
  const answer = await fetch(`${broker.adminUrl}/quitquitquit`, { method: 'POST' });
  t.equal(answer.status, 200);
  t.equal((await broker.exited).code, 0);
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
    const run = async (healthUser: string) => {
      const broker = await startBroker(
        t,
        ['--backends', backend, '--health-interval', '50ms', '--health-user', healthUser],
        {
          ready: false,
        },
      );
      await sleep(1500); // about 30 checks, ten times max_connect_errors
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
