/**
 * What well-behaved clients never send, against the real process: plain HTTP on the TLS port, request
 * smuggling, oversized heads, slowloris, odd request targets, too many connections. Each is refused in
 * the protocol's own terms while a well-behaved client keeps being served.
 */

import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import { httpsRequest, makePki, metrics, metricValue, run, startProxy, startUpstream } from './helpers.js';

const pki = await makePki();
const upstream = await startUpstream(t);
const proxy = await startProxy(t, pki, upstream.url);

t.test('bad input is refused protocol-correctly and other clients are unaffected', async (t) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: readFileSync(pki.caFile) });
  t.teardown(() => agent.destroy());
  // A well-behaved client, already served once (a fresh proxy loads its upstream pool with the first
  // request), keeps working through every bad one below.
  const first = await httpsRequest(`${proxy.url}/echo`, pki, { agent });
  t.equal(first.status, 200, 'the well-behaved client is served before the bad ones arrive');
  let good = 0;
  let bad = 0;
  let stop = false;
  const background = (async () => {
    while (!stop) {
      const response = await httpsRequest(`${proxy.url}/echo`, pki, { agent }).catch(() => undefined);
      if (response?.status === 200) good++;
      else bad++;
    }
  })();

  await t.test("plain HTTP sent to the TLS port gets nginx's 400", async (t) => {
    const result = await run('curl', ['-sS', '-i', `http://127.0.0.1:${proxy.port}/`]);
    t.match(result.stdout, /^HTTP\/1\.1 400 Bad Request/);
    t.match(
      result.stdout,
      /"error":"The plain HTTP request was sent to HTTPS port","code":"PODKIT_ERR_PLAIN_HTTP"/,
    );
  });

  await t.test(
    'Content-Length with Transfer-Encoding (request smuggling) gets 400 and reaches nobody',
    async (t) => {
      const before = upstream.seen.length;
      const answer = await rawTls(
        proxy.port,
        'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n',
      );
      t.match(answer, /^HTTP\/1\.1 400 Bad Request/);
      t.match(answer, /PODKIT_ERR_BAD_REQUEST/);
      t.notOk(
        upstream.seen.slice(before).some((r) => r.url === '/smuggled'),
        'the smuggled request never reached the upstream',
      );
    },
  );

  await t.test('oversized headers get 431', async (t) => {
    const result = await run('curl', [
      '-sS',
      '-i',
      '--cacert',
      pki.caFile,
      '--http1.1',
      '-H',
      `X-Big: ${'a'.repeat(20_000)}`,
      `${proxy.url}/echo`,
    ]);
    t.match(result.stdout, /^HTTP\/1\.1 431 Request Header Fields Too Large/);
  });

  await t.test('absolute-form and CONNECT targets get 400', async (t) => {
    const answer = await rawTls(
      proxy.port,
      'GET http://elsewhere.example/ HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n',
    );
    t.match(answer, /^HTTP\/1\.1 400 Bad Request/);
  });

  stop = true;
  await background;
  t.ok(good > 5, `the well-behaved client kept being served (${good} requests)`);
  t.equal(bad, 0, 'and none of its requests failed');
});

t.test(
  'slowloris: a connection that never finishes its headers is closed by the header timeout',
  async (t) => {
    const slow = await startProxy(t, pki, upstream.url, ['--header-timeout', '1s']);
    const socket = tlsConnect({
      port: slow.port,
      host: '127.0.0.1',
      ca: readFileSync(pki.caFile),
      servername: 'localhost',
    });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
    });
    const started = Date.now();
    socket.write('GET /echo HTTP/1.1\r\nHost: localhost\r\n');
    const drip = setInterval(() => socket.write('X-Drip: 1\r\n'), 200);
    await new Promise((resolve) => socket.once('close', resolve));
    clearInterval(drip);
    const took = Date.now() - started;
    t.ok(took >= 900 && took < 6000, `closed after the 1 s header timeout (${took} ms)`);
    t.match(received, /^HTTP\/1\.1 408 Request Timeout/);
    const meanwhile = await httpsRequest(`${slow.url}/echo`, pki);
    t.equal(meanwhile.status, 200, 'others are served');
  },
);

t.test('--max-connections: connections beyond the limit are closed at once and counted', async (t) => {
  const limited = await startProxy(t, pki, upstream.url, ['--max-connections', '2']);
  const open = async () => {
    const socket = tlsConnect({
      port: limited.port,
      host: '127.0.0.1',
      ca: readFileSync(pki.caFile),
      servername: 'localhost',
    });
    socket.on('error', () => {});
    const outcome = await Promise.race([
      new Promise<'secure'>((resolve) => socket.once('secureConnect', () => resolve('secure'))),
      new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed'))),
    ]);
    return { socket, outcome };
  };
  const first = await open();
  const second = await open();
  t.same([first.outcome, second.outcome], ['secure', 'secure'], 'two connections are served');
  const third = await open();
  t.equal(third.outcome, 'closed', 'the third is closed without a handshake');
  t.equal(metricValue(await metrics(limited), 'podkit_tls_proxy_dropped_connections_total'), 1);
  first.socket.destroy();
  await waitFor(
    async () => metricValue(await metrics(limited), 'podkit_tls_proxy_active_connections') === 1,
    {
      what: 'the freed slot',
    },
  );
  const fourth = await open();
  t.equal(fourth.outcome, 'secure', 'a freed slot is used again');
  second.socket.destroy();
  fourth.socket.destroy();
});

/** Writes raw bytes over TLS and returns everything the server sends until it closes (or 5 s pass). */
async function rawTls(port: number, text: string): Promise<string> {
  const socket = tlsConnect({
    port,
    host: '127.0.0.1',
    ca: readFileSync(pki.caFile),
    servername: 'localhost',
  });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
  });
  socket.on('error', () => {});
  socket.write(text);
  await Promise.race([new Promise((resolve) => socket.once('close', resolve)), sleep(5000)]);
  socket.destroy();
  return received;
}
