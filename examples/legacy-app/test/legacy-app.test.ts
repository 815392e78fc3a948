import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { httpRequest } from '../../../test/support/http.js';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { freePort } from '../../../test/support/ports.js';
import { distDir, spawnNode, type Teardown } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { parseConfig } from '../src/config.js';

const appScript = join(distDir, 'examples', 'legacy-app', 'src', 'main.js');

async function startApp(t: Teardown, extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-legacy-'));
  const port = await freePort();
  const configPath = join(dir, 'app.conf');
  const write = (body: string) =>
    writeFileSync(
      configPath,
      `port = ${port}\nlog_dir = ${join(dir, 'logs')}\npid_file = ${join(dir, 'app.pid')}\n${body}`,
    );
  write(`greeting = first\n${extra}`);
  const app = spawnNode(t, appScript, ['-c', configPath]);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await httpRequest(`${base}/health`).catch(() => undefined))?.status === 200, {
    what: 'legacy app /health',
  });
  return { app, base, dir, port, write, logs: join(dir, 'logs') };
}

/** Sends raw HTTP/1.1 requests over one socket, returning each response's body. */
class RawConnection {
  readonly socket: Socket;
  #buffer = '';

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk) => {
      this.#buffer += chunk;
    });
  }

  async get(path: string): Promise<string> {
    this.#buffer = '';
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: legacy\r\nConnection: keep-alive\r\n\r\n`);
    await waitFor(() => /\r\n\r\n/.test(this.#buffer) && this.#complete(), { what: `response to ${path}` });
    return this.#buffer.split('\r\n\r\n')[1] as string;
  }

  #complete(): boolean {
    const [head, body = ''] = this.#buffer.split('\r\n\r\n');
    const length = /content-length: (\d+)/i.exec(head ?? '');
    return length ? Buffer.byteLength(body) >= Number(length[1]) : false;
  }
}

t.test('config parsing is strict and names the line', async (t) => {
  t.equal(parseConfig('port = 9000\ngreeting = hi there # comment\n').greeting, 'hi there');
  t.throws(() => parseConfig('port = 9000\ncolour = red\n', 'app.conf'), /app.conf:2: unknown key "colour"/);
  t.throws(
    () => parseConfig('port = lots\n', 'app.conf'),
    /app.conf:1: port: expected an integer from 1 to 65535/,
  );
  t.throws(() => parseConfig('just words\n', 'app.conf'), /app.conf:1: expected key = value/);
});

t.test('listens on 127.0.0.1 only', async (t) => {
  const { base, port } = await startApp(t);
  t.equal((await httpRequest(`${base}/`)).body, 'first\n');
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  if (external) {
    await t.rejects(
      httpRequest(`http://${external.address}:${port}/`),
      /ECONNREFUSED/,
      `not on ${external.address}`,
    );
  } else {
    t.comment('no non-loopback IPv4 interface on this machine to check against');
  }
});

t.test('SIGHUP reloads the config without dropping an open keep-alive connection', async (t) => {
  const { app, port, write, logs } = await startApp(t);
  const conn = new RawConnection(port);
  t.teardown(() => conn.socket.destroy());
  let closed = false;
  conn.socket.on('close', () => {
    closed = true;
  });
  t.equal(await conn.get('/'), 'first\n');
  const connectionsBefore = JSON.parse(await conn.get('/stats')).connections.total;

  write('greeting = second\n');
  app.signal('SIGHUP');
  await waitFor(async () => (await conn.get('/')) === 'second\n', {
    what: 'new greeting on the same connection',
  });
  t.equal(closed, false, 'the connection stayed open across the reload');
  const stats = JSON.parse(await conn.get('/stats'));
  t.equal(stats.config.reloads, 1);
  t.equal(stats.config.generation, 2);
  t.equal(stats.connections.total, connectionsBefore, 'no new connection: every request used the open one');
  t.match(
    readFileSync(join(logs, 'info.log'), 'utf8'),
    /INFO {2}\[reload\] config reloaded: generation 2, greeting "second"/,
  );
});

t.test('a bad config on reload keeps the old one and turns /health to 503 until fixed', async (t) => {
  const { app, base, write, logs } = await startApp(t);
  write('greeting = second\nstorage = floppy\n');
  app.signal('SIGHUP');
  await waitFor(async () => (await httpRequest(`${base}/health`)).status === 503, { what: '/health 503' });
  const health = JSON.parse((await httpRequest(`${base}/health`)).body);
  t.equal(health.status, 'config-error');
  t.match(health.error, /storage: expected memory or mysql/);
  t.equal((await httpRequest(`${base}/`)).body, 'first\n', 'still serving the last good config');
  t.match(
    readFileSync(join(logs, 'error.log'), 'utf8'),
    /ERROR \[reload\] config rejected, keeping generation 1\nError: .*storage: expected memory or mysql\n\s+at /,
  );

  write('greeting = third\n');
  app.signal('SIGHUP');
  await waitFor(async () => (await httpRequest(`${base}/health`)).status === 200, {
    what: '/health 200 again',
  });
  t.equal((await httpRequest(`${base}/`)).body, 'third\n');
});

t.test('plain-text per-level logs, multi-line stack traces, its own JSON stats', async (t) => {
  const { base, logs, dir } = await startApp(t);
  await httpRequest(`${base}/`);
  t.equal((await httpRequest(`${base}/fail`)).status, 500);
  t.equal((await httpRequest(`${base}/nowhere`)).status, 404);
  const info = readFileSync(join(logs, 'info.log'), 'utf8');
  t.match(
    info,
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO {2}\[main\] legacy-app [\d.]+ listening on 127\.0\.0\.1:\d+ \(storage=memory\)$/m,
  );
  t.match(info, /^\d{4}-\d\d-\d\d [\d:,]+ INFO {2}\[http-\d\] GET \/ 200 [\d.]+ms$/m);
  const errors = readFileSync(join(logs, 'error.log'), 'utf8');
  t.match(
    errors,
    /ERROR \[http-\d\] unhandled exception in request handler\nError: simulated failure requested at \/fail\n(\s+at .+\n)+/,
  );

  const stats = JSON.parse((await httpRequest(`${base}/stats`)).body);
  t.equal(stats.app, 'legacy-app');
  t.equal(stats.status, 'ok');
  t.ok(stats.requests.total >= 4);
  t.equal(stats.requests.errors, 1);
  t.equal(stats.requests.by_status['500'], 1);
  t.equal(stats.requests.by_path['/fail'], 1);
  t.equal(stats.storage.kind, 'memory');
  t.type(stats.latency_ms.avg, 'number');
  t.match(readFileSync(join(dir, 'app.pid'), 'utf8'), /^\d+\n$/);
});

t.test('stores notes in a real MySQL from its config', async (t) => {
  const db = await startMariaDb(t);
  const passwordFile = join(mkdtempSync(join(tmpdir(), 'podkit-legacy-')), 'pw');
  writeFileSync(passwordFile, `${db.password}\n`);
  const database = `legacy_${Math.random().toString(36).slice(2, 8)}`;
  const { base } = await startApp(
    t,
    `storage = mysql\nmysql_host = 127.0.0.1\nmysql_port = ${db.port}\nmysql_user = root\nmysql_password_file = ${passwordFile}\nmysql_database = ${database}\n`,
  );
  t.equal((await httpRequest(`${base}/notes`, { method: 'POST', body: 'remember the milk' })).status, 201);
  const notes = JSON.parse((await httpRequest(`${base}/notes`)).body);
  t.same(
    notes.map((n: { body: string }) => n.body),
    ['remember the milk'],
  );
  const rows = await db.query<{ body: string }[]>(`SELECT body FROM \`${database}\`.notes`);
  t.same(
    rows.map((r) => r.body),
    ['remember the milk'],
    'the row is in MariaDB',
  );
  t.equal(JSON.parse((await httpRequest(`${base}/stats`)).body).storage.notes, 1);

  await db.stop();
  t.equal((await httpRequest(`${base}/health`)).status, 503, 'database down -> unhealthy');
  t.equal((await httpRequest(`${base}/notes`, { method: 'POST', body: 'lost?' })).status, 503);
  await db.start();
  await waitFor(async () => (await httpRequest(`${base}/health`)).status === 200, { what: 'healthy again' });
});
