/**
 * --accept-proxy-protocol as a real process: a client that sends a PROXY v1 or v2 header and then TLS is
 * served as the address in the header (X-Forwarded-For, per-IP limits, the PROXY header sent upstream
 * in l4); a connection without a valid header, or that stalls in it, is closed and counted.
 */

import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import { parseProxyHeader } from '../src/proxy-header.js';
import { proxyV2Header } from '../src/proxy-protocol.js';
import { httpsRequest, makePki, metrics, metricValue, startProxy, startUpstream } from './helpers.js';

const pki = await makePki();

const v1 = (source: string, port = 40000) =>
  Buffer.from(
    `PROXY TCP${source.includes(':') ? 6 : 4} ${source} ${source.includes(':') ? '::1' : '127.0.0.1'} ${port} 443\r\n`,
  );
const v2 = (source: string, port = 40000) =>
  proxyV2Header({
    sourceAddress: source,
    sourcePort: port,
    destinationAddress: source.includes(':') ? '::1' : '127.0.0.1',
    destinationPort: 443,
  });

/** TCP to the proxy, `header` first, then TLS on the same connection; resolves once TLS is up. */
async function tlsAfter(port: number, header: Buffer): Promise<TLSSocket> {
  const raw = netConnect({ port, host: '127.0.0.1' });
  await new Promise((resolve) => raw.once('connect', resolve));
  raw.write(header);
  const socket = tlsConnect({
    socket: raw,
    ca: readFileSync(pki.caFile),
    servername: 'localhost',
    ALPNProtocols: ['http/1.1'],
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the TLS handshake finished')));
  });
  socket.on('error', () => {});
  return socket;
}

/** One HTTP/1.1 GET /echo over `socket`; the JSON record the upstream answers with. */
async function echo(socket: TLSSocket): Promise<{ headers: Record<string, string> }> {
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.write('GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  await new Promise((resolve) => socket.once('close', resolve));
  return JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4));
}

/** Sends `bytes` on a plain TCP connection and resolves when the proxy closes it. */
function closedAfter(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' }, () => socket.write(bytes));
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.once('close', () => resolve());
  });
}

t.test('l7: the client address is the one in the v1 or v2 header', async (t) => {
  const upstream = await startUpstream(t);
  const proxy = await startProxy(t, pki, upstream.url, ['--accept-proxy-protocol']);

  const fromV1 = await echo(await tlsAfter(proxy.port, v1('203.0.113.7')));
  t.equal(fromV1.headers['x-forwarded-for'], '203.0.113.7', 'v1: X-Forwarded-For');
  t.equal(fromV1.headers['x-real-ip'], '203.0.113.7', 'v1: X-Real-IP');
  const fromV2 = await echo(await tlsAfter(proxy.port, v2('2001:db8::7')));
  t.equal(fromV2.headers['x-forwarded-for'], '2001:db8::7', 'v2: X-Forwarded-For');
  const local = await echo(await tlsAfter(proxy.port, Buffer.from('PROXY UNKNOWN\r\n')));
  t.equal(local.headers['x-forwarded-for'], '127.0.0.1', 'UNKNOWN: the connection address stands');

  const text = await metrics(proxy);
  t.equal(metricValue(text, 'podkit_tls_proxy_tls_handshake_failures_total{reason="proxy_header"}'), 0);
});

t.test('a connection without a valid header is closed and counted; a stalled one times out', async (t) => {
  const upstream = await startUpstream(t);
  const proxy = await startProxy(t, pki, upstream.url, [
    '--accept-proxy-protocol',
    '--handshake-timeout',
    '1s',
  ]);

  await t.rejects(httpsRequest(`${proxy.url}/echo`, pki), 'TLS straight away is refused');
  await closedAfter(proxy.port, Buffer.from('PROXY TCP4 1.2.3.4 nonsense\r\n'));
  const broken = v2('192.0.2.1');
  broken[12] = 0x11;
  await closedAfter(proxy.port, broken);
  await waitFor(
    async () =>
      metricValue(
        await metrics(proxy),
        'podkit_tls_proxy_tls_handshake_failures_total{reason="proxy_header"}',
      ) === 3,
    { what: 'three bad headers counted' },
  );
  await closedAfter(proxy.port, Buffer.from('PROXY TCP4 1.2.3.4'));
  t.equal(
    metricValue(await metrics(proxy), 'podkit_tls_proxy_tls_handshake_failures_total{reason="timeout"}'),
    1,
    'a header that never ends is closed at the handshake timeout',
  );
  t.equal(upstream.seen.length, 0, 'nothing reached the upstream');
});

t.test('--max-connections-per-ip counts the address in the header', async (t) => {
  const upstream = await startUpstream(t);
  const proxy = await startProxy(t, pki, upstream.url, [
    '--accept-proxy-protocol',
    '--max-connections-per-ip',
    '1',
  ]);
  const held = await tlsAfter(proxy.port, v1('198.51.100.1'));
  t.teardown(() => held.destroy());
  await closedAfter(proxy.port, Buffer.concat([v1('198.51.100.1', 40001), Buffer.from([0x16])]));
  t.equal(
    metricValue(await metrics(proxy), 'podkit_tls_proxy_limit_rejections_total{limit="connections_per_ip"}'),
    1,
    'a second connection from the same header address is refused',
  );
  const other = await echo(await tlsAfter(proxy.port, v1('198.51.100.2')));
  t.equal(
    other.headers['x-forwarded-for'],
    '198.51.100.2',
    'another header address from the same peer is served',
  );
});

t.test('l4 with --proxy-protocol: the upstream gets the header address in its PROXY v2 header', async (t) => {
  const firstChunks: Buffer[] = [];
  const server = createServer((socket: Socket) => {
    socket.once('data', (chunk: Buffer) => firstChunks.push(chunk));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const proxy = await startProxy(t, pki, `tcp://127.0.0.1:${port}`, [
    '--mode',
    'l4',
    '--proxy-protocol',
    '--accept-proxy-protocol',
  ]);
  const socket = await tlsAfter(proxy.port, v2('192.0.2.55', 51234));
  socket.write('hello');
  await waitFor(() => firstChunks.length > 0, { what: 'the upstream connection' });
  socket.destroy();
  const sent = parseProxyHeader(firstChunks[0] as Buffer);
  t.match(sent, {
    kind: 'header',
    addresses: { sourceAddress: '192.0.2.55', sourcePort: 51234, destinationPort: 443 },
  });
});
