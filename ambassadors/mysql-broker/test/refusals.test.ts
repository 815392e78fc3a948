/**
 * What a client sees when the broker cannot give it a backend (the `mariadb` client prints the ERR
 * message and exits non-zero; mysql2 reports the code), and how the broker stops: SIGTERM with live
 * connections (POST /quitquitquit: quit-endpoint.test.ts).
 */

import t from 'tap';
import { sharedMariaDb, startMariaDb } from '../../../test/support/mariadb.js';
import { freePort } from '../../../test/support/ports.js';
import { waitFor } from '../../../test/support/wait.js';
import { backendArg, connectError, connectVia, mariadbCli, metric, startBroker } from './helpers.js';

/** One server for the tests that neither stop nor freeze it. */
const sharedDb = sharedMariaDb(t);

/** The machine is shared by several engineers: every timing bound has a generous margin. */
const margin = 4000;

t.test('no healthy backend: the client prints the ERR message and exits non-zero', async (t) => {
  const db = await sharedDb();
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
  const db = await sharedDb();
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
  await db.freeze();
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
  const db = await sharedDb();
  const broker = await startBroker(t, ['--backends', backendArg(db), '--shutdown-timeout', '10s']);
  const idle = await connectVia(broker, db);
  await idle.query('SELECT 1');
  const idleClosed = new Promise<void>((resolve) => idle.once('end', () => resolve()));
  const busy = await connectVia(broker, db);
  const query = busy.query('SELECT SLEEP(5) AS slept, 7 AS answer');
  let queryDone = false;
  const settled = () => {
    queryDone = true;
  };
  query.then(settled, settled);
  // In flight only once the server runs it; before that the connection is idle and would be closed.
  await waitFor(
    async () =>
      (
        await db.query<{ n: number }[]>(
          "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(5)%'",
        )
      )[0]?.n === 1,
    { intervalMs: 50, what: 'the query running on the server' },
  );
  const signalledAt = Date.now();
  broker.signal('SIGTERM');
  await broker.waitForLog('shutting down');
  await t.rejects(connectVia(broker, db), /ECONNREFUSED|ECONNRESET/, 'new connections are refused');
  await idleClosed;
  t.notOk(queryDone, 'the idle (pooled) connection was closed without waiting for the query in flight');
  const [rows] = await query;
  t.same(rows, [{ slept: 0, answer: 7 }], 'the query in flight finished with its result');
  await busy.end().catch(() => {});
  const exit = await broker.exited;
  t.equal(exit.code, 0, 'exit 0');
  t.ok(Date.now() - signalledAt < 10_000, 'before the deadline');
});
