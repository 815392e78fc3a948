/**
 * The broker as a real process between real clients (the `mariadb` CLI, mysql2) and real MariaDB
 * servers: queries, large results byte-exact, prepared statements, the read-only listener, DNS
 * discovery, metrics.
 */

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { sharedMariaDb, startMariaDbs } from '../../../test/support/mariadb.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  backendArg,
  connectVia,
  mariadbCli,
  metric,
  metricsText,
  serverPort,
  startBroker,
} from './helpers.js';

/** One server for the tests that neither stop nor freeze it. */
const sharedDb = sharedMariaDb(t);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

t.test(
  'queries through the broker: mariadb CLI and mysql2, large results byte-exact, prepared statements',
  async (t) => {
    const db = await sharedDb();
    const broker = await startBroker(t, ['--backends', backendArg(db)]);
    const name = await db.createDatabase();

    // The CLI, as a user runs it: a 50,000-row result must be byte-for-byte what the server gives directly.
    const sql = `SELECT seq, SHA2(seq, 256), REPEAT(CHAR(65 + seq % 26), seq % 200) FROM \`${name}\`.seq_1_to_50000`;
    const direct = await mariadbCli(db, db.password, sql);
    const viaBroker = await mariadbCli(broker, db.password, sql);
    t.equal(direct.code, 0, direct.stderr);
    t.equal(viaBroker.code, 0, viaBroker.stderr);
    t.equal(viaBroker.stdout.split('\n').length, 50_001, '50,000 rows');
    t.equal(viaBroker.stdout.length, direct.stdout.length, `${direct.stdout.length} bytes of output`);
    t.equal(sha(viaBroker.stdout), sha(direct.stdout), 'identical output through the broker');

    // mysql2: a 4 MiB BLOB written and read back with prepared statements.
    const conn = await connectVia(broker, db, { database: name });
    t.teardown(() => conn.end().catch(() => {}));
    await conn.query('CREATE TABLE blobs (id INT PRIMARY KEY, body LONGBLOB)');
    const blob = randomBytes(4 * 1024 * 1024);
    await conn.execute('INSERT INTO blobs (id, body) VALUES (?, ?)', [1, blob]);
    const [rows] = await conn.execute('SELECT body, LENGTH(body) AS n FROM blobs WHERE id = ?', [1]);
    const row = (rows as { body: Buffer; n: number }[])[0];
    t.equal(Number(row?.n), blob.length, 'the server stored every byte');
    t.ok(row?.body.equals(blob), 'the 4 MiB BLOB came back byte-exact');
    const [many] = await conn.execute('SELECT seq FROM seq_1_to_100000 WHERE seq > ?', [10]);
    t.equal((many as unknown[]).length, 99_990, 'a large prepared-statement result');

    const upstream = await metric(broker.adminUrl, 'podkit_mysql_broker_bytes_total', {
      direction: 'upstream',
    });
    const downstream = await metric(broker.adminUrl, 'podkit_mysql_broker_bytes_total', {
      direction: 'downstream',
    });
    t.ok((upstream ?? 0) > blob.length, `upstream bytes counted (${upstream})`);
    t.ok(
      (downstream ?? 0) > blob.length + viaBroker.stdout.length,
      `downstream bytes counted (${downstream})`,
    );
    t.equal(
      await metric(broker.adminUrl, 'podkit_mysql_broker_connections_active', { listener: 'read-write' }),
      1,
    );
    t.equal(
      await metric(broker.adminUrl, 'podkit_mysql_broker_connections_total', { listener: 'read-write' }),
      2,
    );
    t.equal(
      await metric(broker.adminUrl, 'podkit_mysql_broker_backend_up', {
        backend: `${db.host}:${db.port}`,
        role: 'read-write',
      }),
      1,
    );
  },
);

t.test('/metrics passes promtool check metrics', async (t) => {
  const db = await sharedDb();
  const broker = await startBroker(t, ['--backends', backendArg(db), '--max-connections', '5']);
  const conn = await connectVia(broker, db);
  await conn.query('SELECT 1');
  await conn.end();
  const text = await metricsText(broker.adminUrl);
  for (const name of [
    'podkit_mysql_broker_connections_active',
    'podkit_mysql_broker_connections_total',
    'podkit_mysql_broker_bytes_total',
    'podkit_mysql_broker_backend_up',
    'podkit_mysql_broker_backend_primary',
    'podkit_mysql_broker_failovers_total',
    'podkit_mysql_broker_refused_connections_total',
  ]) {
    t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
    child.stdin?.end(text);
  });
  t.equal(result.code, 0, result.output);
});

t.test('the read-only listener: replicas in turn, the primary as the fallback', async (t) => {
  const [primary, replica] = await startMariaDbs(t, 2);
  const broker = await startBroker(t, [
    '--backends',
    backendArg(primary),
    '--listen-read-only',
    '127.0.0.1:0',
    '--read-only-backends',
    backendArg(replica),
    '--health-interval',
    '300ms',
  ]);
  const [host, port] = (await broker.address('read-only')).split(':') as [string, string];
  const readOnly = { host, port: Number(port) };
  const rw = await connectVia(broker, primary);
  const ro = await connectVia(readOnly, replica);
  t.equal(await serverPort(rw), primary.port, 'read-write goes to --backends');
  t.equal(await serverPort(ro), replica.port, 'read-only goes to --read-only-backends');
  await rw.end();
  await replica.kill();
  await t.rejects(ro.query('SELECT 1'), 'the connection to the dead replica is closed');
  const fallback = await connectVia(readOnly, primary);
  t.teardown(() => fallback.end().catch(() => {}));
  t.equal(
    await serverPort(fallback),
    primary.port,
    'no healthy replica: the read-only port uses the primary',
  );
});

t.test('--discovery dns: every address of a name, at a fixed port', async (t) => {
  const db = await sharedDb();
  // `localhost` resolves through /etc/hosts to 127.0.0.1 (and maybe ::1, where MariaDB does not listen).
  const broker = await startBroker(t, ['--discovery', 'dns', '--dns-name', `localhost:${db.port}`]);
  const result = await mariadbCli(broker, db.password, 'SELECT @@port');
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.trim(), String(db.port));
  const readyz = (await (await fetch(`${broker.adminUrl}/readyz`)).json()) as {
    checks: { backend: { detail: { backends: { backend: string }[] } } };
  };
  t.ok(
    readyz.checks.backend.detail.backends.some((b) => b.backend === `127.0.0.1:${db.port}`),
    'the resolved address is a backend',
  );
});

t.test('--idle-timeout closes a connection that moved no byte for that long', async (t) => {
  const idleMs = 2000;
  const db = await sharedDb();
  const broker = await startBroker(t, ['--backends', backendArg(db), '--idle-timeout', `${idleMs}ms`]);
  const conn = await connectVia(broker, db);
  const ended = new Promise<number>((resolve) => conn.once('end', () => resolve(Date.now())));
  // Activity keeps it open past the timeout: short gaps (the silence under test, not a wait for an
  // event), far enough below the timeout that a stalled machine does not close it.
  const openedAt = Date.now();
  while (Date.now() - openedAt < idleMs * 1.5) {
    await conn.query('SELECT 1');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  // ...silence does not. Its last bytes are this query's, so it is quiet from later than this on.
  const quietSince = Date.now();
  t.equal(await serverPort(conn), db.port, 'still open after regular queries for longer than the timeout');
  const closedAt = await ended;
  t.ok(closedAt - quietSince >= idleMs - 100, `closed ${closedAt - quietSince} ms after the last byte`);
  t.ok(closedAt - quietSince < idleMs + 5000, 'and not much later');
});

t.test('backpressure: a client that stops reading makes the broker stop reading, not buffer', async (t) => {
  const db = await sharedDb();
  const broker = await startBroker(t, ['--backends', backendArg(db)]);
  const rss = () =>
    Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${broker.pid}/status`, 'utf8'))?.[1]) / 1024;
  const before = rss();
  // 200 MB of rows, streamed by the client (--quick) into a pipe nobody reads for 8 seconds.
  const rows = 200_000;
  const sql = `SELECT REPEAT('x', 1000) FROM \`${await db.createDatabase()}\`.seq_1_to_${rows}`;
  const counted = new Promise<string>((resolve) => {
    execFile(
      'sh',
      [
        '-c',
        `mariadb --quick --batch --skip-column-names -h ${broker.host} -P ${broker.port} -u root -e "${sql.replace(/`/g, '\\`')}" | (sleep 8; wc -c)`,
      ],
      { env: { ...process.env, MYSQL_PWD: db.password }, timeout: 120_000 },
      (_err, stdout) => resolve(stdout.trim()),
    );
  });
  // The broker has stopped reading from the server when its count of bytes to the client holds still,
  // past the handshake: rows have filled at least the pipe and the client's socket buffer by then.
  let forwarded = -1;
  await waitFor(
    async () => {
      const now =
        (await metric(broker.adminUrl, 'podkit_mysql_broker_bytes_total', { direction: 'downstream' })) ?? 0;
      const still = now > 128 * 1024 && now === forwarded;
      forwarded = now;
      return still;
    },
    { intervalMs: 500, what: 'the broker to stop reading' },
  );
  t.ok(forwarded < 50 * 1024 * 1024, `it stopped after ${(forwarded / 1024 / 1024).toFixed(1)} MB of 200`);
  const during = rss();
  t.ok(
    during - before < 64,
    `the broker's memory grew ${(during - before).toFixed(1)} MB while 200 MB waited`,
  );
  t.equal(await counted, String(rows * 1001), 'every byte arrived once the client read again');
});
