/**
 * Pool starvation (issue 24): uploads that stall hold every connection to the primary; a GET then gets
 * 503 within --pool-wait-timeout instead of waiting in silence, and is served again once they go.
 */

import { connect, type Socket } from 'node:net';
import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import { metric, send, startSplit, startVersion } from './helpers.js';

const primary = await startVersion(t, 'primary');
const split = await startSplit(t, [
  '--primary',
  primary.url,
  '--upstream-connections',
  '2',
  '--upstream-timeout',
  '30s',
  '--pool-wait-timeout',
  '1s',
]);

/**
 * A POST that announces 100 bytes and sends 10: it holds its upstream connection while it waits. It
 * asks for 100 Continue, which the split sends as it takes the request (and its connection), so the
 * caller knows the connection is held.
 */
async function stalledUpload(): Promise<Socket> {
  const { port } = new URL(split.url);
  const socket = connect(Number(port), '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    'POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n',
  );
  await new Promise<void>((resolve) => {
    let said = '';
    socket.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.startsWith('HTTP/1.1 100')) resolve();
    });
  });
  socket.write('0123456789');
  return socket;
}

t.test('uploads holding every connection: a GET gets 503 in time, then 200 once they go', async (t) => {
  const uploads = [await stalledUpload(), await stalledUpload()];
  t.teardown(() => {
    for (const socket of uploads) socket.destroy();
  });
  const busy = await send(`${split.url}/busy`);
  t.equal(busy.status, 503, busy.body);
  t.same(JSON.parse(busy.body).code, 'PODKIT_ERR_UPSTREAM_BUSY');
  t.ok(busy.ms >= 900 && busy.ms < 5000, `within the 1 s pool wait, not the 30 s timeout (${busy.ms} ms)`);
  t.equal(
    await metric(split.adminUrl, 'podkit_traffic_split_limit_rejections_total', { limit: 'pool_wait' }),
    1,
  );

  for (const socket of uploads) socket.destroy();
  await waitFor(async () => (await send(`${split.url}/after`)).status === 200, {
    what: 'the freed connections serving again',
  });
});
