/**
 * HTTP/1.1 upgrades through the proxy core, seen by a raw client socket: a tunnel when the upstream
 * switches protocols, its answer relayed when it declines, a JSON error when it is down.
 */

import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { upstreamRequestHead } from '../../../lib/http-proxy/headers.js';
import { UpgradeExchange } from '../../../lib/http-proxy/upgrade.js';
import { Upstreams } from '../../../lib/http-proxy/upstreams.js';
import { freePort } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import { listenOn, testMetrics } from './proxy-fixture.js';

/** `/echo` switches to an echo tunnel; `/private` declines with 403 and a body. */
async function upgradingUpstream(t: Parameters<typeof listenOn>[0]) {
  const server = createServer();
  server.on('upgrade', (req, socket) => {
    if (req.url === '/private') {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n\r\nno way\n');
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\nx-seen-for: ${req.headers['x-forwarded-for']}\r\n\r\n`,
    );
    socket.pipe(socket);
  });
  const port = await listenOn(t, server);
  return `http://127.0.0.1:${port}`;
}

async function upgradingProxy(t: Parameters<typeof listenOn>[0], origin: string) {
  const metrics = testMetrics();
  const upstreams = new Upstreams({ onLoadFailed() {} });
  const upstream = upstreams.add({
    name: 'app',
    origin,
    connections: 2,
    timeoutMs: 5000,
    metrics: metrics.bind('app'),
    onRefused() {},
  });
  t.teardown(() => upstreams.close());
  const server = createServer();
  server.on('upgrade', (req, socket, head) => {
    socket.pause();
    const { headers } = upstreamRequestHead(req.rawHeaders, {
      clientAddress: '192.0.2.7',
      proto: 'http',
      clientCert: undefined,
    });
    const options = { path: req.url ?? '/', method: 'GET', headers, upgrade: 'echo' };
    new UpgradeExchange(upstream, socket, head, options, ['x-proxy', 'core']).start();
  });
  const port = await listenOn(t, server);
  return { port, metrics };
}

/** Sends an upgrade request on a raw socket and collects everything that comes back. */
function rawUpgrade(port: number, path: string) {
  const socket: Socket = connect(port, '127.0.0.1');
  const received = { text: '', closed: false };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received.text += chunk;
  });
  socket.on('close', () => {
    received.closed = true;
  });
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nhost: app\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n`);
  return { socket, received };
}

t.test('a 101 answer becomes a tunnel carrying bytes both ways', async (t) => {
  const proxy = await upgradingProxy(t, await upgradingUpstream(t));
  const { socket, received } = rawUpgrade(proxy.port, '/echo');
  t.teardown(() => socket.destroy());
  await waitFor(() => received.text.includes('\r\n\r\n'), { what: 'the 101 head' });
  t.match(received.text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  t.match(received.text, /\r\nx-seen-for: 192\.0\.2\.7\r\n/i, 'the handshake carried X-Forwarded-For');
  t.match(received.text, /\r\nx-proxy: core\r\n/, 'and the caller’s headers came back');
  const headLength = received.text.length;
  socket.write('ping through the tunnel');
  await waitFor(() => received.text.length > headLength, { what: 'the echo' });
  await waitFor(() => received.text.slice(headLength) === 'ping through the tunnel', {
    what: 'the whole echo',
  });
  t.equal(await proxy.metrics.value('test_requests_total', { upstream: 'app', status_class: '1xx' }), 1);
});

t.test('a declined upgrade: the upstream’s answer is relayed and the connection closed', async (t) => {
  const proxy = await upgradingProxy(t, await upgradingUpstream(t));
  const { received } = rawUpgrade(proxy.port, '/private');
  await waitFor(() => received.closed, { what: 'the connection to close' });
  t.match(received.text, /^HTTP\/1\.1 403 Forbidden\r\n/);
  t.match(received.text, /\r\nconnection: close\r\n/);
  t.match(received.text, /\r\nx-proxy: core\r\n/);
  t.match(received.text, /\r\n\r\nno way\n$/, 'with its body');
  t.equal(await proxy.metrics.value('test_requests_total', { upstream: 'app', status_class: '4xx' }), 1);
});

t.test('an upstream that is down: 502 with a JSON body on the raw connection', async (t) => {
  const proxy = await upgradingProxy(t, `http://127.0.0.1:${await freePort()}`);
  const { received } = rawUpgrade(proxy.port, '/echo');
  await waitFor(() => received.closed, { what: 'the connection to close' });
  t.match(received.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  t.match(
    received.text,
    /\r\n\r\n\{"error":"upstream unavailable \(ECONNREFUSED\)","code":"PODKIT_ERR_UPSTREAM"\}\n$/,
  );
  t.equal(await proxy.metrics.value('test_upstream_errors_total', { upstream: 'app', reason: 'connect' }), 1);
});
