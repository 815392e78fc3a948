/**
 * `--workers 2`: the same behaviour with the data path in two worker processes -- connections spread
 * over both, limits enforced across them, failover closing connections in every worker, and a drain
 * that lets a query finish and leaves no process behind.
 */

import t from 'tap';
import { startMariaDbs } from '../../../test/support/mariadb.js';
import { children } from '../../../test/support/proc-fds.js';
import { alive } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  backendArg,
  connectError,
  connectVia,
  mariadbCli,
  metric,
  primaryIs,
  serverPort,
  startBroker,
} from './helpers.js';

t.test('--workers 2: queries, limits, failover and drain across worker processes', async (t) => {
  const [first, second] = await startMariaDbs(t, 2);
  const broker = await startBroker(t, [
    '--backends',
    backendArg(first, second),
    '--workers',
    '2',
    '--max-connections',
    '4',
    '--health-interval',
    '500ms',
    '--shutdown-timeout',
    '10s',
  ]);
  const workers = children(broker.pid);
  t.equal(workers.length, 2, 'two worker processes');
  await primaryIs(broker, first);

  const cli = await mariadbCli(
    broker,
    first.password,
    'SELECT @@port, COUNT(*) FROM information_schema.columns',
  );
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, new RegExp(`^${first.port}\\t\\d+`));

  const held = await Promise.all([1, 2, 3, 4].map(() => connectVia(broker, first)));
  t.same(await Promise.all(held.map(serverPort)), [first.port, first.port, first.port, first.port]);
  const refused = await connectError(broker, first);
  t.equal(refused.code, 'ER_CON_COUNT_ERROR', '--max-connections counts the connections of both workers');
  t.equal(
    await metric(broker.adminUrl, 'podkit_mysql_broker_connections_active', { listener: 'read-write' }),
    4,
  );

  const closed = held.map((conn) => new Promise<void>((resolve) => conn.once('end', () => resolve())));
  await first.kill();
  await Promise.all(closed);
  t.pass('every connection to the dead backend was closed, in both workers');
  await waitFor(
    async () => {
      const conn = await connectVia(broker, second).catch(() => undefined);
      const port = conn ? await serverPort(conn).catch(() => 0) : 0;
      await conn?.end().catch(() => {});
      return port === second.port;
    },
    { timeoutMs: 5000, what: 'new connections on the second backend' },
  );
  t.pass('failover');

  const busy = await connectVia(broker, second);
  const query = busy.query('SELECT SLEEP(1.5) AS slept, 9 AS answer');
  // SIGTERM once the query runs on the server, so the drain meets a query in flight.
  await waitFor(
    async () =>
      (
        await second.query<{ n: number }[]>(
          "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(1.5)%'",
        )
      )[0]?.n === 1,
    { what: 'the SLEEP query running on the backend' },
  );
  broker.signal('SIGTERM');
  const [rows] = await query;
  t.same(rows, [{ slept: 0, answer: 9 }], 'the query in flight finished during the drain');
  await busy.end().catch(() => {});
  t.equal((await broker.exited).code, 0, 'exit 0');
  await waitFor(() => workers.every((pid) => !alive(pid)), { what: 'the workers gone' });
  t.pass('no worker process is left behind');
});
