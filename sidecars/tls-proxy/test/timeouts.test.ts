/**
 * The connection timeouts and the upstream pool size, against the real process: a client that stalls
 * in the handshake, after a response, inside a request body or on an HTTP/2 session or l4 tunnel is
 * closed after its timeout (not before, not never), and --upstream-connections bounds the sockets a
 * real upstream server sees however many clients wait.
 */

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import * as http2 from 'node:http2';
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import { httpsRequest, makePki, metrics, metricValue, startProxy } from './helpers.js';

const pki = await makePki();
const ca = readFileSync(pki.caFile);

/** An HTTP upstream that counts its sockets and holds requests to /hold until the test releases them. */
async function countingUpstream() {
  const held: ServerResponse[] = [];
  let sockets = 0;
  let openSockets = 0;
  let mostOpen = 0;
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.once('end', () => {
      if (req.url === '/hold') held.push(res);
      else res.end('ok');
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets++;
    openSockets++;
    mostOpen = Math.max(mostOpen, openSockets);
    socket.once('close', () => openSockets--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    stats: () => ({ sockets, mostOpen }),
  };
}

const upstream = await countingUpstream();
// Handshake 2 s: the clients of the other tests must finish theirs on a busy machine; the 10 s default
// would still be far from it.
const proxy = await startProxy(t, pki, upstream.url, [
  '--handshake-timeout',
  '2s',
  '--header-timeout',
  '1s',
  '--request-timeout',
  '2s',
  '--keep-alive-timeout',
  '500ms',
  '--idle-timeout',
  '1s',
  '--upstream-connections',
  '2',
]);

const metric = async (series: string) => metricValue(await metrics(proxy), series);

/** Resolves with the milliseconds until `socket` closes, or rejects after `limitMs`. */
function closedWithin(socket: Socket, limitMs: number, from = Date.now()): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${limitMs} ms`)), limitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - from);
    });
  });
}

function tls(port = proxy.port, alpn?: string[]): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      ca,
      servername: 'localhost',
      ...(alpn ? { ALPNProtocols: alpn } : {}),
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

t.test('--handshake-timeout: silent and stalled handshakes are closed after it and counted', async (t) => {
  const before = await metric('podkit_tls_proxy_tls_handshake_failures_total{reason="timeout"}');

  const silent = tcpConnect(proxy.port, '127.0.0.1');
  silent.on('error', () => {});
  const opened = Date.now();
  await new Promise((resolve) => silent.once('connect', resolve));
  const silentMs = await closedWithin(silent, 8000, opened);
  t.ok(silentMs >= 1900, `a connection that sends nothing is closed after the 2 s timeout (${silentMs} ms)`);

  // The first bytes of a TLS record (handshake type, version), then nothing: the TLS layer's timeout.
  const stalled = tcpConnect(proxy.port, '127.0.0.1');
  stalled.on('error', () => {});
  await new Promise((resolve) => stalled.once('connect', resolve));
  const started = Date.now();
  stalled.write(Buffer.from([0x16, 0x03, 0x01]));
  const stalledMs = await closedWithin(stalled, 8000, started);
  t.ok(stalledMs >= 1900, `a handshake that stalls is closed after the 2 s timeout (${stalledMs} ms)`);

  await waitFor(
    async () =>
      (await metric('podkit_tls_proxy_tls_handshake_failures_total{reason="timeout"}')) === before + 2,
    { what: 'both counted as reason="timeout"' },
  );
  t.equal((await httpsRequest(`${proxy.url}/`, pki)).status, 200, 'other clients are served');
});

t.test(
  '--keep-alive-timeout: an idle kept-alive connection is reused within it and closed after',
  async (t) => {
    const socket = await tls();
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
    });
    const ask = async (n: number) => {
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await waitFor(() => received.split('HTTP/1.1 200').length - 1 === n, { what: `response ${n}` });
    };
    await ask(1);
    await ask(2);
    t.notOk(socket.destroyed, 'the connection served a second request');
    const answered = Date.now();
    // node adds a second of grace to the keep-alive timeout; its own 5 s default would close after 6 s.
    const idleMs = await closedWithin(socket, 4500, answered);
    t.ok(idleMs >= 450, `closed after the 0.5 s timeout and node's grace (${idleMs} ms)`);
  },
);

t.test('--request-timeout: a body still arriving when it ends gets 408, counted', async (t) => {
  const before = await metric('podkit_tls_proxy_limit_rejections_total{limit="request_timeout"}');
  const socket = await tls();
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
  });
  socket.on('error', () => {});
  const started = Date.now();
  socket.write('POST /slow-body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n');
  // A byte every 200 ms: never idle long enough for --client-body-timeout, never finished.
  const drip = setInterval(() => socket.writable && socket.write('x'), 200);
  t.teardown(() => clearInterval(drip));
  const tookMs = await closedWithin(socket, 10_000, started);
  clearInterval(drip);
  t.ok(tookMs >= 1900, `ended after the 2 s request timeout (${tookMs} ms)`);
  t.match(received, /^HTTP\/1\.1 408 /, 'answered 408');
  await waitFor(
    async () =>
      (await metric('podkit_tls_proxy_limit_rejections_total{limit="request_timeout"}')) === before + 1,
    { what: 'the request timeout counted' },
  );
});

t.test('--idle-timeout: an HTTP/2 session with no traffic is closed after it', async (t) => {
  const session = http2.connect(proxy.url, { ca, servername: 'localhost' });
  session.on('error', () => {});
  const status = await new Promise<number>((resolve, reject) => {
    const stream = session.request({ ':path': '/' });
    stream.on('response', (headers) => resolve(Number(headers[':status'])));
    stream.on('error', reject);
    stream.resume();
    stream.end();
  });
  t.equal(status, 200);
  const lastTraffic = Date.now();
  const idleMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the session is still open after 8 s')), 8000);
    session.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - lastTraffic);
    });
  });
  t.ok(idleMs >= 900, `closed 1 s after its last stream (${idleMs} ms)`);
});

t.test('--idle-timeout in l4: a silent tunnel is closed after it', async (t) => {
  const echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => echo.close(() => resolve())));
  const l4 = await startProxy(t, pki, `tcp://127.0.0.1:${(echo.address() as AddressInfo).port}`, [
    '--mode',
    'l4',
    '--idle-timeout',
    '1s',
  ]);
  const socket = await tls(l4.port);
  socket.write('ping');
  await new Promise((resolve) => socket.once('data', resolve));
  const echoed = Date.now();
  const idleMs = await closedWithin(socket, 8000, echoed);
  t.ok(idleMs >= 900, `closed 1 s after the last bytes (${idleMs} ms)`);
});

t.test('--upstream-connections 2: six waiting clients share two upstream sockets', async (t) => {
  const before = upstream.stats().sockets;
  const requests = Array.from({ length: 6 }, () =>
    httpsRequest(`${proxy.url}/hold`, pki, { timeoutMs: 30_000 }),
  );
  let released = 0;
  // Each round: the pool's two sockets both hold a request (and, the first time, all six clients are
  // connected, so the other four wait in the proxy); then both are answered and the next two come.
  for (let round = 0; round < 3; round++) {
    await waitFor(
      async () =>
        upstream.held.length === 2 &&
        (round > 0 || (await metric('podkit_tls_proxy_active_connections')) >= 6),
      { timeoutMs: 20_000, what: `round ${round}: two requests held at the upstream` },
    );
    for (const res of upstream.held.splice(0)) {
      res.end('held');
      released++;
    }
  }
  const answers = await Promise.all(requests);
  t.same(
    answers.map((a) => a.status),
    [200, 200, 200, 200, 200, 200],
    'every client got its answer',
  );
  t.equal(released, 6);
  const { sockets, mostOpen } = upstream.stats();
  t.ok(sockets - before <= 2, `the upstream saw at most 2 new sockets (${sockets - before})`);
  t.ok(mostOpen <= 2, `never more than 2 open at once (${mostOpen})`);
});
