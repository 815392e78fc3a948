import t from 'tap';
import { startMariaDb, threadStates } from './mariadb.js';
import { waitFor } from './wait.js';

t.test('a private MariaDB: query, crash, restart on the same data', async (t) => {
  const db = await startMariaDb(t);
  const [row] = await db.query<{ v: string }[]>('SELECT VERSION() AS v');
  t.match(row?.v, /MariaDB/);
  const name = await db.createDatabase();
  await db.query(`CREATE TABLE \`${name}\`.notes (id INT PRIMARY KEY, body TEXT)`);
  await db.query(`INSERT INTO \`${name}\`.notes VALUES (1, 'kept')`);

  await db.kill();
  await t.rejects(db.query('SELECT 1'), /ECONNREFUSED/);
  await db.start();
  const rows = await db.query<{ body: string }[]>(`SELECT body FROM \`${name}\`.notes`);
  t.same(
    rows.map((r) => r.body),
    ['kept'],
    'data survives a crash and restart',
  );
});

t.test('a frozen server accepts TCP but never answers', async (t) => {
  const db = await startMariaDb(t);
  await db.freeze();
  await t.rejects(db.connect({ connectTimeout: 500 }), /connect ETIMEDOUT|timeout/i);
  db.thaw();
  t.same(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
});

t.test('wrong password is refused by the server', async (t) => {
  const db = await startMariaDb(t);
  await t.rejects(db.connect({ password: 'wrong' }), { code: 'ER_ACCESS_DENIED_ERROR' });
});

t.test('each server has its own root password', async (t) => {
  const [first, second] = await Promise.all([startMariaDb(t), startMariaDb(t)]);
  t.not(first.password, second.password);
  await t.rejects(first.connect({ password: second.password }), { code: 'ER_ACCESS_DENIED_ERROR' });
});

t.test('a taken port: the server moves to a free one and is ready only as itself', async (t) => {
  // Same password on purpose: only the pid-file check tells the two servers apart.
  const first = await startMariaDb(t, { password: 'shared' });
  const second = await startMariaDb(t, { password: 'shared', port: first.port });
  t.not(second.port, first.port, 'the second server runs on a port of its own');
  const pidFile = async (db: typeof first) =>
    (await db.query<{ file: string }[]>('SELECT @@pid_file AS file'))[0]?.file;
  t.not(await pidFile(second), await pidFile(first), 'two servers answer');
  // A restart keeps its port.
  await second.stop();
  const port = second.port;
  await second.start();
  t.equal(second.port, port);
});

t.test('a server is killed when the process that started it exits without its teardowns', async (t) => {
  const { execFile } = await import('node:child_process');
  const { join } = await import('node:path');
  const { distDir } = await import('./process.js');
  const support = join(distDir, 'test', 'support', 'mariadb.js');
  const script = `import { readFileSync } from 'node:fs';
    import { startMariaDb } from ${JSON.stringify(support)};
    const db = await startMariaDb({ teardown() {} });
    const [{ file }] = await db.query('SELECT @@pid_file AS file');
    console.log(db.port, readFileSync(file, 'utf8').trim());
    process.exit(0);`;
  const [port, pid] = await new Promise<number[]>((resolve, reject) => {
    const { NODE_OPTIONS: _drop, ...env } = process.env;
    execFile(process.execPath, ['--input-type=module', '-e', script], { env }, (err, stdout) =>
      err ? reject(err) : resolve(stdout.trim().split(' ').map(Number)),
    );
  });
  t.ok(port && pid, 'the child started a server');
  // SIGKILL is only queued: the listening socket closes when the last of mariadbd's threads has gone.
  await waitFor(
    async () => (await threadStates(pid as number)).every((state) => state === 'Z' || state === 'X'),
    {
      what: `every thread of mariadbd ${pid} gone`,
    },
  );
  const mysql = await import('mysql2/promise');
  await t.rejects(
    mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 2000 }),
    /ECONNREFUSED/,
    'nothing listens on its port any more',
  );
});
