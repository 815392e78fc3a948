import t from 'tap';
import { startMariaDb } from './mariadb.js';

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
  db.freeze();
  await t.rejects(db.connect({ connectTimeout: 500 }), /connect ETIMEDOUT|timeout/i);
  db.thaw();
  t.same(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
});

t.test('wrong password is refused by the server', async (t) => {
  const db = await startMariaDb(t);
  await t.rejects(db.connect({ password: 'wrong' }), { code: 'ER_ACCESS_DENIED_ERROR' });
});
