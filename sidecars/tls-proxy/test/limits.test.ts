/**
 * Limits on what a client controls and the headers it may not forge, against the real process: each
 * limit is hit by a real client and answered in the protocol's terms, counted in
 * limit_rejections_total, while other clients keep being served.
 */

import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import t from 'tap';
import WebSocket from 'ws';
import { waitFor } from '../../../test/support/wait.js';
import {
  httpsRequest,
  makePki,
  metrics,
  metricValue,
  run,
  type SeenRequest,
  startProxy,
  startUpstream,
} from './helpers.js';
import { RawH2, rawHttp1 } from './raw-clients.js';

const pki = await makePki();
const upstream = await startUpstream(t);
const proxy = await startProxy(t, pki, upstream.url, [
  '--max-header-count',
  '20',
  '--max-body-size',
  '1000',
  '--http2-max-concurrent-streams',
  '2',
  '--http2-max-resets',
  '50',
  '--tunnel-idle-timeout',
  '1s',
]);

const rejected = async (limit: string, target = proxy) =>
  metricValue(await metrics(target), `podkit_tls_proxy_limit_rejections_total{limit="${limit}"}`);

/** The upstream's record of the one request whose URL is `url`. */
function seenAt(url: string): SeenRequest | undefined {
  return upstream.seen.find((r) => r.url === url);
}

t.test('a header named with "_" never reaches the upstream by default (HTTP/1.1 and HTTP/2)', async (t) => {
  const response = await httpsRequest(`${proxy.url}/echo?underscore=h1`, pki, {
    headers: { X_Forwarded_Client_Cert: 'Subject="CN=admin"', 'x-kept': 'yes' },
  });
  t.equal(response.status, 200);
  const seen = JSON.parse(response.body) as SeenRequest;
  t.notOk(
    seen.rawHeaders.some((name, i) => i % 2 === 0 && name.includes('_')),
    'no header named with "_" reached the upstream',
  );
  t.equal(seen.headers['x-kept'], 'yes', 'other headers pass');

  const h2 = await run('curl', [
    '-sS',
    '--http2',
    '--cacert',
    pki.caFile,
    '-H',
    'X_Forwarded_Client_Cert: Subject="CN=admin"',
    `${proxy.url}/echo?underscore=h2`,
  ]);
  t.equal(h2.code, 0, h2.stderr);
  t.notOk(
    (seenAt('/echo?underscore=h2')?.rawHeaders ?? ['_']).some((name, i) => i % 2 === 0 && name.includes('_')),
    'nor over HTTP/2',
  );
});

t.test('X-Real-IP is the address the proxy saw; X-Forwarded-For is appended to', async (t) => {
  const response = await httpsRequest(`${proxy.url}/echo?real-ip`, pki, {
    headers: { 'x-real-ip': '203.0.113.9', 'x-forwarded-for': '198.51.100.4' },
  });
  const seen = JSON.parse(response.body) as SeenRequest;
  t.equal(seen.headers['x-real-ip'], '127.0.0.1');
  t.equal(seen.headers['x-forwarded-for'], '198.51.100.4, 127.0.0.1');
});

t.test(
  '--headers-with-underscores reject: 400, counted; --xff replace: only the client address',
  async (t) => {
    const edge = await startProxy(t, pki, upstream.url, [
      '--headers-with-underscores',
      'reject',
      '--xff',
      'replace',
    ]);
    const before = upstream.seen.length;
    const refused = await httpsRequest(`${edge.url}/echo?refused`, pki, {
      headers: { X_Forwarded_Client_Cert: 'Subject="CN=admin"' },
    });
    t.equal(refused.status, 400);
    t.match(refused.body, /"code":"PODKIT_ERR_BAD_REQUEST"/);
    t.match(refused.body, /X_Forwarded_Client_Cert/);
    t.equal(upstream.seen.length, before, 'nothing reached the upstream');
    t.equal(await rejected('underscore_header', edge), 1);

    const replaced = await httpsRequest(`${edge.url}/echo?xff`, pki, {
      headers: { 'x-forwarded-for': '198.51.100.4', forwarded: 'for=198.51.100.4' },
    });
    const seen = JSON.parse(replaced.body) as SeenRequest;
    t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', "the client's X-Forwarded-For is replaced");
    t.equal(seen.headers.forwarded, `for=127.0.0.1;proto=https;host="127.0.0.1:${edge.port}"`);
  },
);

t.test('more header fields than --max-header-count: 431, counted, the connection closed', async (t) => {
  const headers: Record<string, string> = {};
  for (let i = 0; i < 25; i++) headers[`x-field-${i}`] = 'v';
  const before = upstream.seen.length;
  const response = await httpsRequest(`${proxy.url}/echo?many`, pki, { headers });
  t.equal(response.status, 431);
  t.equal(response.headers.connection, 'close');
  t.equal(upstream.seen.length, before, 'nothing reached the upstream');
  t.equal(await rejected('header_count'), 1);
  const few = await httpsRequest(`${proxy.url}/echo?few`, pki, { headers: { 'x-a': '1', 'x-b': '2' } });
  t.equal(few.status, 200, 'a request within the limit is served');
});

t.test('a request head larger than --max-header-size: 431, counted', async (t) => {
  const response = await httpsRequest(`${proxy.url}/echo`, pki, { headers: { 'x-big': 'a'.repeat(20_000) } });
  t.equal(response.status, 431);
  t.equal(await rejected('header_size'), 1);
});

t.test('bodies larger than --max-body-size: 413 by Content-Length or as they stream, counted', async (t) => {
  const declared = await httpsRequest(`${proxy.url}/echo?declared`, pki, {
    method: 'POST',
    body: 'x'.repeat(2000),
  });
  t.equal(declared.status, 413);
  t.match(declared.body, /larger than 1000 bytes/);
  t.notOk(seenAt('/echo?declared'), 'a declared oversized body never reaches the upstream');

  const streamed = await rawHttp1(
    pki,
    proxy.port,
    `POST /echo?chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${'400\r\n'}${'x'.repeat(1024)}\r\n${'400\r\n'}${'x'.repeat(1024)}\r\n`,
  );
  await streamed.closed;
  t.match(streamed.received(), /^HTTP\/1\.1 413 Payload Too Large/);
  t.notOk(
    upstream.seen.some((r) => r.url === '/echo?chunked' && r.body.length > 1000),
    'the upstream never got a complete oversized body',
  );
  t.equal(await rejected('body_size'), 2);
  const within = await httpsRequest(`${proxy.url}/echo?within`, pki, {
    method: 'POST',
    body: 'x'.repeat(900),
  });
  t.equal(within.status, 200, 'a body within the limit is served');
  t.equal((JSON.parse(within.body) as SeenRequest).body.length, 900);
});

t.test(
  'HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS is advertised; a client opening more loses the connection',
  async (t) => {
    const h2 = await RawH2.connect(pki, proxy.port);
    t.teardown(() => h2.destroy());
    t.equal(h2.serverSettings().get(3 /* MAX_CONCURRENT_STREAMS */), 2);
    const before = upstream.seen.length;
    h2.get('/echo?stream=1');
    h2.get('/echo?stream=2');
    await waitFor(() => upstream.seen.length === before + 2, { what: 'two streams served' });
    h2.get('/slow?ms=3000');
    h2.get('/slow?ms=3000');
    h2.get('/slow?ms=3000');
    await h2.closed;
    t.pass('a third stream open at once closes the connection');
    // The client may see the close before the proxy's session has counted its error.
    await waitFor(async () => (await rejected('h2_streams')) >= 1, { what: 'the closed session counted' });
    t.equal(await rejected('h2_streams'), 1);
  },
);

t.test('HTTP/2 rapid reset: HEADERS + RST_STREAM in a loop gets GOAWAY ENHANCE_YOUR_CALM', async (t) => {
  const client = http2.connect(proxy.url, { ca: readFileSync(pki.caFile) });
  client.on('error', () => {});
  t.teardown(() => client.destroy());
  let goaway: number | undefined;
  client.once('goaway', (code: number) => {
    goaway = code;
  });
  await new Promise((resolve) => client.once('connect', resolve));
  for (let i = 0; i < 2000 && goaway === undefined && !client.destroyed; i++) {
    const req = client.request({ ':path': '/slow?ms=2000' });
    req.on('error', () => {});
    req.close(http2.constants.NGHTTP2_CANCEL);
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await waitFor(() => goaway !== undefined || client.destroyed, { what: 'GOAWAY' });
  t.equal(goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  t.equal(await rejected('h2_rapid_reset'), 1);
  const other = await run('curl', [
    '-sS',
    '--http2',
    '--cacert',
    pki.caFile,
    `${proxy.url}/echo?after-reset`,
  ]);
  t.equal(other.code, 0, 'other HTTP/2 clients are served');
});

t.test('Upgrade other than websocket (h2c): stripped, the request proxied as plain HTTP', async (t) => {
  const exchange = await rawHttp1(
    pki,
    proxy.port,
    'GET /echo?h2c HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
  );
  await exchange.closed;
  t.match(exchange.received(), /^HTTP\/1\.1 200 OK/, 'an ordinary answer, not 101');
  const seen = seenAt('/echo?h2c');
  t.ok(seen, 'the request reached the upstream');
  t.notOk(seen && ('upgrade' in seen.headers || 'http2-settings' in seen.headers), 'without Upgrade');
});

t.test('--tunnel-idle-timeout: a silent WebSocket is closed, a talking one is not', async (t) => {
  const open = async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${proxy.port}/ws`, { ca: readFileSync(pki.caFile) });
    await new Promise((resolve) => ws.once('message', resolve));
    return ws;
  };
  const talking = await open();
  const silent = await open();
  const started = Date.now();
  const chatter = setInterval(() => talking.send('ping'), 200);
  t.teardown(() => clearInterval(chatter));
  await new Promise((resolve) => silent.once('close', resolve));
  const took = Date.now() - started;
  t.ok(took >= 900 && took < 6000, `the silent one closed after the 1 s idle timeout (${took} ms)`);
  t.equal(talking.readyState, WebSocket.OPEN, 'the talking one is open');
  clearInterval(chatter);
  talking.close();
  t.equal(await rejected('tunnel_idle'), 1);
});
