/**
 * The built-in checks against real servers: --require-writable with a server made read-only,
 * --min-free-connections with connections really taken, and --max-replication-lag against a real
 * replica of a second private MariaDB (delayed replication makes real lag; a stopped SQL thread makes
 * replication stop).
 */

import type { Connection } from 'mysql2/promise';
import t from 'tap';
import { type MariaDb, startMariaDb } from '../../../test/support/mariadb.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  createHealthUser,
  failingLine,
  healthUrl,
  latestLog,
  metric,
  metricsText,
  probe,
  probeCodes,
  ranLine,
  startAdapter,
} from './helpers.js';

// Debug: the passing values the tests read are only in the "check ran" lines.
const fast = [
  '--check-interval',
  '300ms',
  '--check-timeout',
  '1s',
  '--liveness-grace',
  '0s',
  '--log-level',
  'debug',
];

async function readinessIs(adminUrl: string, status: number, what: string): Promise<void> {
  await waitFor(async () => (await probe(adminUrl, '/readyz')).status === status, {
    what: `${what}: /readyz ${status}`,
  });
}

t.test('writable and free connections on one server', async (t) => {
  const db = await startMariaDb(t);
  await createHealthUser(db);

  await t.test('--require-writable: a read-only server is not ready, and still alive', async (t) => {
    const app = await startAdapter(t, ['--mysql-url', healthUrl(db), ...fast, '--require-writable']);
    t.match((await probe(app.adminUrl, '/readyz')).body.checks.writable, {
      ok: true,
      detail: { reason: null },
    });
    t.match(await latestLog(app, ranLine('writable', 'ok')), { observed: 'read-write' });

    await db.query('SET GLOBAL read_only = 1');
    t.teardown(() => db.query('SET GLOBAL read_only = 0'));
    await readinessIs(app.adminUrl, 503, 'read_only=1');
    t.match((await probe(app.adminUrl, '/readyz')).body.checks.writable, {
      ok: false,
      detail: {
        status: 'fail',
        expected: { equals: 'read-write' },
        reason: 'unexpected result',
      },
    });
    t.match(await app.waitForLog(failingLine('writable')), {
      observed: 'read-only (read_only=ON)',
      reason: 'the server is read-only (read_only=ON)',
    });
    t.same(
      await probeCodes(app.adminUrl),
      { liveness: 200, readiness: 503, startup: 200 },
      'only readiness fails',
    );

    await db.query('SET GLOBAL read_only = 0');
    await readinessIs(app.adminUrl, 200, 'read_only=0');
    t.pass('ready again once writable');
  });

  await t.test('--min-free-connections: taken connections make it not ready', async (t) => {
    const [before] = await db.query<{ Value: string }[]>(`SHOW GLOBAL VARIABLES LIKE 'max_connections'`);
    await db.query('SET GLOBAL max_connections = 14');
    t.teardown(() => db.query(`SET GLOBAL max_connections = ${Number(before?.Value)}`));
    const app = await startAdapter(t, ['--mysql-url', healthUrl(db), ...fast, '--min-free-connections', '5']);
    const idle = (await latestLog(app, ranLine('free-connections', 'ok'))).observed as number;
    t.ok(idle >= 5, `${idle} connections free before the test takes any`);

    const taken: Connection[] = [];
    t.teardown(() => Promise.all(taken.map((conn) => conn.end())));
    // Leave about 3 free, below the minimum of 5.
    for (let i = 0; i < idle - 3; i++) taken.push(await db.connect());
    await readinessIs(app.adminUrl, 503, `${taken.length} connections taken`);
    const check = (await probe(app.adminUrl, '/readyz')).body.checks['free-connections'];
    t.match(check, {
      ok: false,
      detail: { expected: { min: 5 }, reason: 'unexpected result' },
    });
    t.match(await app.waitForLog(failingLine('free-connections')), {
      reason: /^\d free connections \(\d+ of 14 in use\), below the minimum 5$/,
    });
    const observed = (await latestLog(app, ranLine('free-connections', 'fail'))).observed;
    t.ok((observed as number) < 5, `${observed} free`);
    t.equal(
      metric(await metricsText(app.adminUrl), 'podkit_db_health_check_value', { check: 'free-connections' }),
      (await latestLog(app, ranLine('free-connections', 'fail'))).observed,
    );

    await Promise.all(taken.splice(0).map((conn) => conn.end()));
    await readinessIs(app.adminUrl, 200, 'connections returned');
    t.pass('ready again once connections are free');
  });
});

async function replicate(primary: MariaDb, replica: MariaDb): Promise<void> {
  const [position] = await primary.query<{ File: string; Position: number }[]>('SHOW MASTER STATUS');
  await replica.query(
    `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primary.port}, MASTER_USER = 'root',
     MASTER_PASSWORD = ?, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?, MASTER_USE_GTID = no, MASTER_CONNECT_RETRY = 1`,
    [primary.password, position?.File, position?.Position],
  );
  await replica.query('START SLAVE');
}

async function setDelay(replica: MariaDb, seconds: number): Promise<void> {
  await replica.query('STOP SLAVE');
  await replica.query(`CHANGE MASTER TO MASTER_DELAY = ${seconds}`);
  await replica.query('START SLAVE');
}

t.test('--max-replication-lag against a real replica', async (t) => {
  const primary = await startMariaDb(t, { args: ['--log-bin', '--server-id=1', '--binlog-format=ROW'] });
  const replica = await startMariaDb(t, { args: ['--server-id=2'] });
  await createHealthUser(primary);
  await createHealthUser(replica);
  await replicate(primary, replica);
  const database = await primary.createDatabase('podkit_repl');
  await primary.query(`CREATE TABLE \`${database}\`.ticks (id INT AUTO_INCREMENT PRIMARY KEY)`);
  const lagArgs = [...fast, '--max-replication-lag', '3s'];

  const onPrimary = await startAdapter(t, ['--mysql-url', healthUrl(primary), ...lagArgs]);
  t.match((await probe(onPrimary.adminUrl, '/readyz')).body.checks['replication-lag'], {
    ok: true,
    detail: { reason: null, expected: { max: 3 } },
  });
  t.match(await latestLog(onPrimary, ranLine('replication-lag', 'ok')), { observed: 'not a replica' });

  const app = await startAdapter(t, ['--mysql-url', healthUrl(replica), ...lagArgs]);
  t.match((await probe(app.adminUrl, '/readyz')).body.checks['replication-lag'], { ok: true });
  t.match(await latestLog(app, ranLine('replication-lag', 'ok')), { observed: 0 });

  await t.test('a replica falling behind is not ready; caught up, it is ready again', async (t) => {
    await setDelay(replica, 60);
    await primary.query(`INSERT INTO \`${database}\`.ticks VALUES ()`);
    // Restarting replication leaves the IO thread connecting for a moment (no lag to measure, also 503):
    // wait for the lag itself.
    // Restarting replication leaves the IO thread connecting for a moment (no lag to measure, also a
    // failure): wait for the lag itself.
    const lag = await app.waitForLog(
      (line) => ranLine('replication-lag', 'fail')(line) && /^replication lag/.test(String(line.reason)),
      30_000,
    );
    t.match(lag.reason, /^replication lag \d+ s is above the maximum 3 s$/);
    t.ok((lag.observed as number) > 3, `observed lag ${lag.observed} s`);
    t.match((await probe(app.adminUrl, '/readyz')).body.checks['replication-lag']?.detail, {
      status: 'fail',
      reason: 'unexpected result',
    });
    t.same(
      await probeCodes(app.adminUrl),
      { liveness: 200, readiness: 503, startup: 200 },
      'lag gates readiness only',
    );

    await setDelay(replica, 0);
    await readinessIs(app.adminUrl, 200, 'caught up');
    const caughtUp = app.logs.length;
    await app.waitForLog(
      (line) => app.logs.indexOf(line) >= caughtUp && ranLine('replication-lag', 'ok')(line),
    );
    t.match(await latestLog(app, ranLine('replication-lag', 'ok')), { observed: 0 });
    const rows = await replica.query<unknown[]>(`SELECT * FROM \`${database}\`.ticks`);
    t.equal(rows.length, 1, 'the delayed row reached the replica');
  });

  await t.test('stopped replication is not ready, with the thread states in the reason', async (t) => {
    await replica.query('STOP SLAVE SQL_THREAD');
    t.teardown(() => replica.query('START SLAVE'));
    const stopped = app.logs.length;
    await readinessIs(app.adminUrl, 503, 'SQL thread stopped');
    t.equal(
      (await probe(app.adminUrl, '/readyz')).body.checks['replication-lag']?.detail.reason,
      'unexpected result',
    );
    const line = await latestLog(
      app,
      (l) => app.logs.indexOf(l) >= stopped && ranLine('replication-lag', 'fail')(l),
    );
    t.equal(line.reason, 'replication is not running (IO thread: Yes, SQL thread: No)');
    await replica.query('START SLAVE');
    await readinessIs(app.adminUrl, 200, 'replication restarted');
    t.pass('ready again once replication runs');
  });
});
