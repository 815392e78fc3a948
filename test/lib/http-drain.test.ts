/**
 * Draining HTTP servers with real clients: HTTP/1.1 keep-alive connections, HTTP/2 sessions, upgraded
 * tunnels, and a server fed connections by hand (as tls-proxy feeds its HTTP servers).
 */

import { Agent, createServer, request, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, connect as http2Connect } from 'node:http2';
import {
  type AddressInfo,
  connect,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import t from 'tap';
import { HttpConnections } from '../../lib/http-drain.js';
import { httpRequest } from '../support/http.js';
import type { Teardown } from '../support/process.js';
import { waitFor } from '../support/wait.js';

async function listening(t: Teardown, server: NetServer) {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** A server whose `/held` requests wait for `release()`; every other path is answered at once. */
function heldRequests() {
  const held: ServerResponse[] = [];
  return {
    held,
    respond(path: string, res: ServerResponse) {
      if (path === '/held') held.push(res);
      else res.end('now');
    },
    release() {
      for (const res of held.splice(0)) res.end('released');
    },
  };
}

function socketOf(agent: Agent): Socket {
  const sockets = Object.values(agent.freeSockets).flat();
  if (sockets.length !== 1 || !sockets[0])
    throw new Error(`expected one kept-alive socket, got ${sockets.length}`);
  return sockets[0] as Socket;
}

t.test(
  'HTTP/1.1: idle kept-alive connections close at once, a request in flight finishes, then its connection closes',
  async (t) => {
    const connections = new HttpConnections();
    const requests = heldRequests();
    const server = createServer((req, res) => {
      connections.requestStarted(req.socket, res);
      requests.respond(req.url ?? '', res);
    });
    connections.followHttp1(server);
    const port = await listening(t, server);
    const base = `http://127.0.0.1:${port}`;

    const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const busyAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.teardown(() => {
      idleAgent.destroy();
      busyAgent.destroy();
    });
    t.equal((await httpRequest(`${base}/`, { agent: idleAgent })).body, 'now');
    const idleSocket = socketOf(idleAgent);
    const idleClosed = new Promise((resolve) => idleSocket.once('close', resolve));
    const held = httpRequest(`${base}/held`, { agent: busyAgent });
    await waitFor(() => requests.held.length === 1, { what: 'the held request at the server' });

    let drained = false;
    const drain = connections.drain().then(() => {
      drained = true;
    });
    await idleClosed;
    t.pass('the idle kept-alive connection was closed');
    t.notOk(drained, 'the drain waits for the request in flight');
    t.equal(server.listening, false, 'the listener is closed');
    await t.rejects(httpRequest(`${base}/`), /ECONNREFUSED/, 'a new connection is refused');

    requests.release();
    const answer = await held;
    t.equal(answer.body, 'released', 'the request in flight was answered');
    await drain;
    t.pass('the drain ended once that connection had closed');
  },
);

t.test(
  'HTTP/2: the session is told to go away, its stream in flight finishes, then the drain ends',
  async (t) => {
    const connections = new HttpConnections();
    const requests = heldRequests();
    const server = createHttp2Server();
    server.on('request', (req, res) => requests.respond(req.url, res as unknown as ServerResponse));
    connections.followHttp2(server);
    const port = await listening(t, server);
    const session = http2Connect(`http://127.0.0.1:${port}`);
    t.teardown(() => session.destroy());
    const goaway = new Promise((resolve) => session.once('goaway', resolve));
    const stream = session.request({ ':path': '/held' });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      body += chunk;
    });
    const streamEnded = new Promise((resolve) => stream.once('end', resolve));
    await waitFor(() => requests.held.length === 1, { what: 'the held stream at the server' });

    let drained = false;
    const drain = connections.drain().then(() => {
      drained = true;
    });
    await goaway;
    t.pass('the client was sent GOAWAY');
    t.notOk(drained, 'the drain waits for the stream in flight');
    requests.release();
    await streamEnded;
    t.equal(body, 'released', 'the stream in flight was answered');
    await drain;
    t.pass('the drain ended once the session closed');
  },
);

/** An upgrade to an echo tunnel; the server side of each tunnel is handed to `connections.upgraded`. */
async function tunnelServer(t: Teardown, connections: HttpConnections) {
  const server = createServer();
  connections.followHttp1(server);
  server.on('upgrade', (_req, socket) => {
    connections.upgraded(socket);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  const port = await listening(t, server);
  return () =>
    new Promise<Socket>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${port}/`, {
        headers: { connection: 'upgrade', upgrade: 'echo' },
      });
      req.on('upgrade', (_res, socket) => resolve(socket));
      req.on('error', reject);
      req.end();
    });
}

t.test('tunnels: closed when their grace ends; one that ends by itself ends the wait', async (t) => {
  const lingering = new HttpConnections();
  const openLingering = await tunnelServer(t, lingering);
  const tunnel = await openLingering();
  const closed = new Promise((resolve) => tunnel.once('close', resolve));
  const started = Date.now();
  await lingering.drain({ tunnelGraceMs: 500 });
  await closed;
  const took = Date.now() - started;
  t.ok(took >= 450 && took < 5000, `the tunnel was closed after its 500 ms grace (${took} ms)`);

  const leaving = new HttpConnections();
  const openLeaving = await tunnelServer(t, leaving);
  const polite = await openLeaving();
  const echoed = new Promise((resolve) => polite.once('data', resolve));
  polite.write('still here');
  t.equal(String(await echoed), 'still here', 'the tunnel carries bytes');
  const leftAt = Date.now();
  const drain = leaving.drain({ tunnelGraceMs: 30_000 });
  polite.end();
  await drain;
  t.ok(Date.now() - leftAt < 10_000, 'the drain ended when the tunnel did, long before its grace');
});

t.test('a server fed connections by hand: one handed in while draining is closed at once', async (t) => {
  const connections = new HttpConnections();
  const http = createServer((req, res) => {
    connections.requestStarted(req.socket, res);
    res.end('served');
  });
  connections.followHttp1(http);
  // As tls-proxy does: another server accepts, the HTTP server never listens, and 'listening' is
  // emitted by hand so node tracks its connections (idle ones, timeouts).
  http.emit('listening');
  const front = createNetServer((socket) => http.emit('connection', socket));
  const port = await listening(t, front);
  t.equal((await httpRequest(`http://127.0.0.1:${port}/`)).body, 'served');
  await connections.drain();
  t.pass('nothing in flight: the drain ends at once');
  const late = connect(port, '127.0.0.1');
  late.on('error', () => {});
  late.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  let answer = '';
  late.on('data', (chunk) => {
    answer += chunk;
  });
  await new Promise((resolve) => late.once('close', resolve));
  t.equal(answer, '', 'closed without an answer');
  http.close();
});
