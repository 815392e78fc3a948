/**
 * The admin server over real HTTP: the probe routes follow Health, /metrics is Prometheus text, and
 * what is not a route gets a clear JSON answer without disturbing the next client.
 */

import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import {
  type AdminAnswer,
  AdminServer,
  createAdminServer,
  maxAdminBodyBytes,
  maxAdminConnections,
} from '../../lib/admin.js';
import { Health } from '../../lib/health.js';
import { createLogger } from '../../lib/log.js';
import { createRegistry } from '../../lib/metrics.js';
import { parseHostPort } from '../../lib/option-types.js';
import { httpRequest } from '../support/http.js';
import type { Teardown } from '../support/process.js';
import { waitFor } from '../support/wait.js';

async function startAdmin(t: Teardown, log = createLogger('test', 'silent')) {
  const health = new Health();
  const registry = createRegistry();
  const admin = createAdminServer({ log, registry, health });
  return { admin, health, registry, url: await listening(t, admin) };
}

async function listening(t: Teardown, admin: AdminServer): Promise<string> {
  const address = await admin.listen(parseHostPort('127.0.0.1:0'));
  t.teardown(() => admin.close());
  return `http://${address}`;
}

t.test('/healthz and /readyz follow Health; /metrics is Prometheus text', async (t) => {
  const { health, url } = await startAdmin(t);
  health.readiness.set('upstream', true);

  let ready = await httpRequest(`${url}/readyz`);
  t.equal(ready.status, 503, 'not ready while starting');
  t.same(JSON.parse(ready.body), { status: 'starting', checks: { upstream: { ok: true } } });
  t.equal(ready.headers['content-type'], 'application/json; charset=utf-8');

  health.phase = 'running';
  ready = await httpRequest(`${url}/readyz`);
  t.equal(ready.status, 200);
  t.equal(JSON.parse(ready.body).status, 'ready');

  health.readiness.set('upstream', false, 'connection refused');
  ready = await httpRequest(`${url}/readyz`);
  t.equal(ready.status, 503);
  t.same(JSON.parse(ready.body), {
    status: 'not ready',
    checks: { upstream: { ok: false, detail: 'connection refused' } },
  });

  health.phase = 'draining';
  t.equal(JSON.parse((await httpRequest(`${url}/readyz`)).body).status, 'draining');

  t.equal((await httpRequest(`${url}/healthz`)).status, 200);
  health.liveness.set('loop', false);
  const unhealthy = await httpRequest(`${url}/healthz`);
  t.equal(unhealthy.status, 503);
  t.equal(JSON.parse(unhealthy.body).status, 'unhealthy');

  const metrics = await httpRequest(`${url}/metrics`);
  t.equal(metrics.status, 200);
  t.match(metrics.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(metrics.body, /^process_cpu_user_seconds_total \d/m);
});

t.test('HEAD answers like GET without a body; the query string does not change the route', async (t) => {
  const { url } = await startAdmin(t);
  const head = await httpRequest(`${url}/healthz`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.body, '');
  t.equal(Number(head.headers['content-length']), Buffer.byteLength('{"status":"ok","checks":{}}'));
  t.equal((await httpRequest(`${url}/healthz?verbose=1`)).status, 200);
});

t.test('an unknown path is 404 and a known one with another method 405 with Allow, both JSON', async (t) => {
  const { admin, url } = await startAdmin(t);
  admin.post('/sync', () => ({ status: 200, body: { result: 'noop' } }));

  const missing = await httpRequest(`${url}/nothing-here`);
  t.equal(missing.status, 404);
  t.same(JSON.parse(missing.body), { error: 'no route /nothing-here on the admin server' });
  t.equal((await httpRequest(`${url}/healthz/`)).status, 404, 'paths are exact');

  const wrongMethod = await httpRequest(`${url}/sync`);
  t.equal(wrongMethod.status, 405);
  t.equal(wrongMethod.headers.allow, 'POST');
  t.match(JSON.parse(wrongMethod.body).error, /GET is not allowed on \/sync: use POST/);
  const postToProbe = await httpRequest(`${url}/readyz`, { method: 'POST' });
  t.equal(postToProbe.status, 405);
  t.equal(postToProbe.headers.allow, 'GET, HEAD');
});

t.test('a POST body is left unread and the kept-alive connection serves the next request', async (t) => {
  const { admin, url } = await startAdmin(t);
  admin.post('/sync', () => ({ status: 200, body: { result: 'noop' } }));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const sockets = new Set<unknown>();
  agent.on('free', (socket) => sockets.add(socket));

  const posted = await httpRequest(`${url}/sync`, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ref: 'refs/heads/main', padding: 'x'.repeat(256 * 1024) }),
  });
  t.equal(posted.status, 200);
  t.same(JSON.parse(posted.body), { result: 'noop' });
  t.equal((await httpRequest(`${url}/healthz`, { agent })).status, 200);
  t.equal(sockets.size, 1, 'both requests went over one connection');
});

t.test('a route that throws answers 500, is logged, and the server keeps serving', async (t) => {
  const lines: string[] = [];
  const log = createLogger('test', 'info', { write: (line: string) => lines.push(line) });
  const { admin, url } = await startAdmin(t, log);
  admin.get('/broken', async () => {
    throw new Error('the check exploded');
  });

  const broken = await httpRequest(`${url}/broken`);
  t.equal(broken.status, 500);
  t.same(JSON.parse(broken.body), { error: 'GET /broken failed; see the log' });
  const logged = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'admin route failed');
  t.match(logged, { level: 'error', path: '/broken', err: 'the check exploded' });
  t.equal((await httpRequest(`${url}/healthz`)).status, 200);
});

t.test('a route added twice is refused', async (t) => {
  const { admin } = await startAdmin(t);
  t.throws(() => admin.get('/healthz', () => ({ status: 200, body: {} })), /already has GET \/healthz/);
});

t.test('close() ends connections still waiting for an answer instead of waiting for them', async (t) => {
  const admin = new AdminServer(createLogger('test', 'silent'));
  let received!: () => void;
  const arrived = new Promise<void>((resolve) => {
    received = resolve;
  });
  admin.get('/stuck', () => {
    received();
    return new Promise<AdminAnswer>(() => {});
  });
  const address = await admin.listen(parseHostPort('127.0.0.1:0'));
  const stuck = httpRequest(`http://${address}/stuck`, { timeoutMs: 60_000 });
  await arrived;

  // A server that waited for its open requests would not resolve this (the test would time out).
  await admin.close();
  await t.rejects(stuck, { code: 'ECONNRESET' }, 'the waiting client is cut off');
  await t.rejects(httpRequest(`http://${address}/healthz`), { code: 'ECONNREFUSED' });
});

t.test('a large request body is dropped as it arrives, so a slow answer is not a 408', async (t) => {
  // Short timeouts stand in for the real 30 s: the body must be complete long before the answer.
  const admin = new AdminServer(createLogger('test', 'silent'), {
    // 2 s for a body just under the cap in the same process: room for a busy machine, far less than the answer.
    headersTimeout: 2000,
    requestTimeout: 2000,
    connectionsCheckingInterval: 50,
  });
  t.teardown(() => admin.close());
  admin.post('/sync', async () => {
    // Proving no 408: the answer comes only once the request timeout and a few of node's checks of it
    // have passed.
    await new Promise((resolve) => setTimeout(resolve, 2000 + 4 * 50));
    return { status: 200, body: { result: 'success' } };
  });
  const address = await admin.listen(parseHostPort('127.0.0.1:0'));
  const answer = await httpRequest(`http://${address}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ commits: 'x'.repeat(maxAdminBodyBytes - 64) }),
  });
  t.equal(answer.status, 200);
  t.same(JSON.parse(answer.body), { result: 'success' });
});

t.test('an answer that cannot be sent is a 500, logged, and the server keeps serving', async (t) => {
  const lines: string[] = [];
  const log = createLogger('test', 'info', { write: (line: string) => lines.push(line) });
  const { admin, url } = await startAdmin(t, log);
  admin.get('/no-body', () => ({ status: 200, body: undefined }));
  admin.get('/big-number', () => ({ status: 200, body: { count: 10n } }));
  admin.get('/bad-header', () => ({ status: 200, body: {}, headers: { 'x-note': 'one\r\ntwo' } }));

  for (const path of ['/no-body', '/big-number', '/bad-header']) {
    const answer = await httpRequest(`${url}${path}`);
    t.equal(answer.status, 500, path);
    t.same(JSON.parse(answer.body), { error: `GET ${path} failed; see the log` });
  }
  const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'admin route failed');
  t.same(
    logged.map((entry) => entry.path),
    ['/no-body', '/big-number', '/bad-header'],
  );
  t.equal((await httpRequest(`${url}/healthz`)).status, 200);
});

t.test('a port in use is a clear error naming the admin server and the address', async (t) => {
  const { url } = await startAdmin(t);
  const other = createAdminServer({
    log: createLogger('test', 'silent'),
    registry: createRegistry(),
    health: new Health(),
  });
  await t.rejects(other.listen(parseHostPort(url.slice('http://'.length))), {
    message: /^admin server cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE$/,
  });
});

/** Sends raw bytes and collects what comes back until the server closes the connection. */
function rawExchange(url: string, bytes: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes, () => {}));
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('close', () => resolve(received));
    socket.setTimeout(15_000, () => socket.destroy(new Error('the admin server kept the connection open')));
  });
}

/** podkit_admin_limit_rejections_total{limit} as /metrics shows it. */
async function rejections(url: string, limit: string): Promise<number> {
  const { body } = await httpRequest(`${url}/metrics`);
  const line = new RegExp(`^podkit_admin_limit_rejections_total\\{limit="${limit}"\\} (\\d+)$`, 'm');
  return Number(line.exec(body)?.[1] ?? Number.NaN);
}

t.test('a request body over the limit: 413 and the connection closed, announced or streamed', async (t) => {
  const { admin, url } = await startAdmin(t);
  t.equal(await rejections(url, 'body'), 0, 'the counter is there from the start');
  admin.post('/sync', () => ({ status: 200, body: { result: 'noop' } }));

  const small = await httpRequest(`${url}/sync`, { method: 'POST', body: '{"ref":"main"}' });
  t.equal(small.status, 200, 'a webhook-sized body is fine');

  const announced = await rawExchange(
    url,
    `POST /sync HTTP/1.1\r\nHost: x\r\nContent-Length: ${maxAdminBodyBytes + 1}\r\n\r\n`,
  );
  t.match(announced, /^HTTP\/1\.1 413 /, 'refused from Content-Length, before the body');
  t.match(announced, /connection: close/i);

  const chunk = 'x'.repeat(4096);
  const chunks = Array(Math.ceil((maxAdminBodyBytes * 4) / 4096))
    .fill(`${(4096).toString(16)}\r\n${chunk}\r\n`)
    .join('');
  const streamed = await rawExchange(
    url,
    `POST /healthz-nothing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`,
  );
  t.match(streamed, /^HTTP\/1\.1 (413|404) /, 'answered, then closed rather than reading on');
  t.equal((await httpRequest(`${url}/healthz`)).status, 200, 'the next client is served');
  t.equal(await rejections(url, 'body'), 2, 'each refused body is counted');
});

/** The counter read over a held keep-alive connection (a new one would be over the cap). */
function rejectionsVia(socket: Socket | undefined, limit: string): Promise<number> {
  return new Promise((resolve, reject) => {
    if (!socket) return reject(new Error('no held connection'));
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const length = /content-length: (\d+)/i.exec(text);
      const start = text.indexOf('\r\n\r\n');
      if (!length || start < 0 || text.length < start + 4 + Number(length[1])) return;
      socket.off('data', onData);
      const line = new RegExp(`^podkit_admin_limit_rejections_total\\{limit="${limit}"\\} (\\d+)$`, 'm');
      resolve(Number(line.exec(text)?.[1] ?? Number.NaN));
    };
    socket.on('data', onData);
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

t.test('connections over the cap are closed at once; the open ones are served', async (t) => {
  const { admin, url } = await startAdmin(t);
  const { hostname, port } = new URL(url);
  const held: Socket[] = [];
  t.teardown(() => {
    for (const socket of held) socket.destroy();
  });
  for (let i = 0; i < maxAdminConnections; i++) {
    const socket = connect(Number(port), hostname);
    socket.on('error', () => {});
    held.push(socket);
  }
  const count = () => new Promise<number>((resolve) => admin.server.getConnections((_err, n) => resolve(n)));
  await waitFor(async () => (await count()) === maxAdminConnections, {
    what: 'every held connection accepted',
  });

  const over = await rawExchange(url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(over, '', 'closed without an answer');
  await waitFor(async () => (await rejectionsVia(held[1], 'connections')) === 1, {
    what: 'the refused connection counted',
  });

  held[0]?.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    held[0]?.on('data', (chunk) => {
      text += chunk.toString('latin1');
    });
    held[0]?.on('close', () => resolve(text));
  });
  t.match(answer, /^HTTP\/1\.1 200 /, 'a connection within the cap is served');
  await waitFor(async () => (await count()) < maxAdminConnections, { what: 'a slot freed' });
  t.equal((await httpRequest(`${url}/healthz`)).status, 200, 'a new connection fits again');
});
