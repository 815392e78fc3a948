/**
 * Connection caps against a real process: --max-connections-per-ip closes one address's extra
 * connections at accept while another address is still served, --max-connections closes everyone's,
 * and both are counted in podkit_tls_proxy_limit_rejections_total by limit.
 */

import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import { makePki, metrics, metricValue, startProxy, startUpstream } from './helpers.js';

const pki = await makePki();
const upstream = await startUpstream(t);
const ca = readFileSync(pki.caFile);

async function open(port: number, from = '127.0.0.1'): Promise<{ socket: TLSSocket; outcome: string }> {
  const tcp = netConnect({ port, host: '127.0.0.1', localAddress: from });
  tcp.on('error', () => {});
  const socket = connect({ socket: tcp, ca, servername: 'localhost' });
  socket.on('error', () => {});
  const outcome = await Promise.race([
    new Promise<'secure'>((resolve) => socket.once('secureConnect', () => resolve('secure'))),
    new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed'))),
  ]);
  return { socket, outcome };
}

const rejections = (text: string, limit: string) =>
  metricValue(text, `podkit_tls_proxy_limit_rejections_total{limit="${limit}"}`);

t.test('--max-connections-per-ip: one address cannot take every slot', async (t) => {
  const proxy = await startProxy(t, pki, upstream.url, ['--max-connections-per-ip', '2']);
  const first = await open(proxy.port);
  const second = await open(proxy.port);
  t.same([first.outcome, second.outcome], ['secure', 'secure']);
  const third = await open(proxy.port);
  t.equal(third.outcome, 'closed', "the address's third connection is closed at accept");
  const elsewhere = await open(proxy.port, '127.0.0.2');
  t.equal(elsewhere.outcome, 'secure', 'another address is served');
  const text = await metrics(proxy);
  t.equal(rejections(text, 'connections_per_ip'), 1);
  t.equal(rejections(text, 'connections'), 0);
  first.socket.destroy();
  await waitFor(async () => metricValue(await metrics(proxy), 'podkit_tls_proxy_active_connections') === 2, {
    what: 'the freed slot',
  });
  const again = await open(proxy.port);
  t.equal(again.outcome, 'secure', 'a freed slot is used again');
  for (const c of [second, again, elsewhere]) c.socket.destroy();
});

t.test('--max-connections: counted as limit="connections"', async (t) => {
  const proxy = await startProxy(t, pki, upstream.url, ['--max-connections', '1']);
  const first = await open(proxy.port);
  t.equal(first.outcome, 'secure');
  t.equal((await open(proxy.port, '127.0.0.3')).outcome, 'closed');
  const text = await metrics(proxy);
  t.equal(rejections(text, 'connections'), 1);
  t.equal(metricValue(text, 'podkit_tls_proxy_dropped_connections_total'), 1, 'the older counter too');
  first.socket.destroy();
});
