/**
 * /readyz is open to whoever reaches the admin port: it names each backend with a short reason, and what
 * a server answered (here an ERR greeting carrying a secret-looking message) goes only to the log.
 */

import { type AddressInfo, createServer } from 'node:net';
import t from 'tap';
import { errPacket } from '../src/protocol.js';
import { startBroker } from './helpers.js';

const secret = 'hunter2-s3cr3t-from-the-server';

t.test("a backend's error message is in the log, not in /readyz", async (t) => {
  // A server that refuses every connection in its greeting, as a MySQL server does when a host is blocked.
  const refusing = createServer((socket) => {
    socket.on('error', () => {});
    socket.end(errPacket(1129, `Host 'app' is blocked (${secret})`));
  });
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => refusing.close(() => resolve())));
  const backend = `127.0.0.1:${(refusing.address() as AddressInfo).port}`;

  const broker = await startBroker(t, ['--backends', backend, '--health-interval', '300ms'], {
    ready: false,
  });
  const logged = await broker.waitForLog((line) => line.msg === 'backend unhealthy', 30_000);
  t.match(String(logged.detail), secret, 'the log has what the server said');

  const readyz = await fetch(`${broker.adminUrl}/readyz`);
  const body = await readyz.text();
  t.equal(readyz.status, 503);
  t.notMatch(body, secret, 'the body does not');
  t.notMatch(body, /blocked|1129/, 'nor any of the server message');
  t.match(JSON.parse(body).checks.backend.detail, {
    primary: null,
    reason: `no healthy backend (${backend}: refused by the server)`,
    backends: [{ backend, healthy: false, reason: 'refused by the server' }],
  });
});
