/**
 * l4 as a real process: raw bytes through TLS to a TCP upstream, the PROXY v2 header the upstream
 * receives, mTLS refusals as closed connections, and the byte counters.
 */

import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import { httpsRequest, makePki, metrics, metricValue, startProxy, startUpstream } from './helpers.js';

const pki = await makePki();

/** A TCP upstream that records what each connection sent first and echoes everything back. */
async function tcpEcho() {
  const firstChunks: Buffer[] = [];
  const server = createServer((socket: Socket) => {
    socket.once('data', (chunk: Buffer) => firstChunks.push(chunk));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, firstChunks };
}

async function exchange(
  port: number,
  payload: Buffer,
  client?: { cert: string; key: string },
): Promise<Buffer> {
  const socket = tlsConnect({
    port,
    host: '127.0.0.1',
    ca: readFileSync(pki.caFile),
    servername: 'localhost',
    ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
  });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.write(payload);
  await waitFor(() => Buffer.concat(received).length >= payload.length || socket.destroyed, { what: 'echo' });
  socket.end();
  return Buffer.concat(received);
}

t.test('raw TLS pass-through: any bytes, both ways, counted', async (t) => {
  const upstream = await tcpEcho();
  const proxy = await startProxy(t, pki, `tcp://127.0.0.1:${upstream.port}`, ['--mode', 'l4']);
  const payload = Buffer.alloc(3_000_000);
  for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
  const echoed = await exchange(proxy.port, payload);
  t.equal(Buffer.compare(echoed, payload), 0, '3 MB of binary data came back unchanged');
  await waitFor(
    async () =>
      metricValue(
        await metrics(proxy),
        'podkit_tls_proxy_tunnel_bytes_total{direction="client_to_upstream"}',
      ) === payload.length,
    {
      what: 'the byte counter',
    },
  );
  t.equal(
    metricValue(await metrics(proxy), 'podkit_tls_proxy_tunnel_bytes_total{direction="upstream_to_client"}'),
    payload.length,
  );

  const web = await startUpstream(t);
  const http = await startProxy(t, pki, `tcp://127.0.0.1:${web.port}`, ['--mode', 'l4']);
  const response = await httpsRequest(`${http.url}/echo`, pki, {
    headers: { 'x-forwarded-for': 'kept as sent' },
  });
  t.equal(response.status, 200, 'HTTP works through l4 too');
  t.equal(
    JSON.parse(response.body).headers['x-forwarded-for'],
    'kept as sent',
    'l4 does not touch HTTP headers',
  );
});

t.test(
  '--proxy-protocol: the upstream first receives a PROXY v2 header with the client address',
  async (t) => {
    const upstream = await tcpEcho();
    const proxy = await startProxy(t, pki, `tcp://127.0.0.1:${upstream.port}`, [
      '--mode',
      'l4',
      '--proxy-protocol',
    ]);
    const echoed = await exchange(proxy.port, Buffer.from('hello'));
    const header = upstream.firstChunks[0] as Buffer;
    t.equal(header.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a', 'the v2 signature');
    t.equal(header[12], 0x21, 'version 2, PROXY');
    t.equal(header[13], 0x11, 'TCP over IPv4');
    t.equal([...header.subarray(16, 20)].join('.'), '127.0.0.1', 'the client address');
    t.equal(header.readUInt16BE(26), proxy.port, 'the destination port is the proxy listener');
    t.equal(echoed.subarray(echoed.length - 5).toString(), 'hello');
  },
);

t.test('l4 with --client-auth require: unknown or missing client certificates get no tunnel', async (t) => {
  const upstream = await tcpEcho();
  const proxy = await startProxy(t, pki, `tcp://127.0.0.1:${upstream.port}`, [
    '--mode',
    'l4',
    '--client-auth',
    'require',
    '--client-ca-file',
    pki.caFile,
  ]);
  t.equal(
    (await exchange(proxy.port, Buffer.from('ping'), pki.client)).toString(),
    'ping',
    'the trusted client gets through',
  );
  t.equal(
    (await exchange(proxy.port, Buffer.from('ping'), pki.stranger)).length,
    0,
    'an unknown certificate is closed',
  );
  t.equal((await exchange(proxy.port, Buffer.from('ping'))).length, 0, 'no certificate is closed');
  const text = await metrics(proxy);
  t.equal(
    metricValue(text, 'podkit_tls_proxy_tls_handshake_failures_total{reason="client_cert_unverified"}'),
    1,
  );
  t.equal(
    metricValue(text, 'podkit_tls_proxy_tls_handshake_failures_total{reason="client_cert_missing"}'),
    1,
  );
  t.equal(upstream.firstChunks.length, 1, 'only the trusted client reached the upstream');
});

t.test('l4 SIGTERM: a finished tunnel lets the process exit 0 at once', async (t) => {
  const upstream = await tcpEcho();
  const proxy = await startProxy(t, pki, `tcp://127.0.0.1:${upstream.port}`, ['--mode', 'l4']);
  await exchange(proxy.port, Buffer.from('bye'));
  const started = Date.now();
  proxy.signal('SIGTERM');
  t.equal((await proxy.exited).code, 0);
  t.ok(Date.now() - started < 3000, 'no open tunnel to wait for');
});
