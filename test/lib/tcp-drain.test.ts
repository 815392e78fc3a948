import { connect, createServer, type Socket } from 'node:net';
import t from 'tap';
import { ConnectionTracker, type Drainable } from '../../lib/tcp-drain.js';
import { waitFor } from '../support/wait.js';

/** An echo server whose connections are at rest while `resting` says so. */
async function echoServer(resting: (socket: Socket) => boolean) {
  const tracker = new ConnectionTracker<Drainable & { socket: Socket }>();
  const server = createServer((socket) => {
    const connection = { socket, close: () => socket.destroy(), atRest: () => resting(socket) };
    tracker.add(connection);
    socket.on('close', () => tracker.delete(connection));
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { tracker, server, port };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

t.test(
  'drain: stops accepting at once, waits for open connections, resolves when the last closes',
  async (t) => {
    // Counts the drain's polls: each one asked the connection and found it busy.
    let polls = 0;
    const { tracker, server, port } = await echoServer(() => {
      polls++;
      return false;
    });
    const client = await open(port);
    await waitFor(() => tracker.size === 1, { what: 'the server accepted the connection' });
    let drained = false;
    const draining = tracker.drain([server], { pollMs: 10 }).then(() => {
      drained = true;
    });
    t.equal(server.listening, false, 'the listener is closed');
    await waitFor(() => polls >= 3, { what: 'three drain polls of the open connection' });
    await t.rejects(open(port), /ECONNREFUSED/, 'new connections are refused');
    t.equal(drained, false, 'an open connection holds the drain');
    client.write('ping');
    const echoed = await new Promise<string>((resolve) => client.once('data', (d) => resolve(String(d))));
    t.equal(echoed, 'ping', 'open connections keep working while draining');
    client.end();
    await draining;
    t.equal(tracker.size, 0);
  },
);

t.test('drain: connections at rest are closed instead of holding the drain', async (t) => {
  const busy = new Set<Socket>();
  const { tracker, server, port } = await echoServer((socket) => !busy.has(socket));
  const idle = await open(port);
  const working = await open(port);
  await waitFor(() => tracker.size === 2, { what: 'the server accepted both connections' });
  // Mark the server side of the second connection busy.
  for (const connection of tracker.values())
    if (connection.socket.remotePort === working.localPort) busy.add(connection.socket);
  const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
  const draining = tracker.drain([server], { pollMs: 10 });
  await idleClosed;
  await waitFor(() => tracker.size === 1, { what: 'the server side of the idle connection closed' });
  t.equal(working.destroyed, false, 'the busy one is kept');
  working.end();
  await draining;
  t.pass('drained once the busy connection finished');
});

t.test('drain with nothing open resolves at once', async (t) => {
  const { tracker, server } = await echoServer(() => false);
  await tracker.drain([server]);
  t.equal(server.listening, false);
});
