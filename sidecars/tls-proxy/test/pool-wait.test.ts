/**
 * Pool starvation (issue 24): clients sending slow request bodies must not leave others waiting in
 * silence. With every upstream connection held by a stalled upload, a GET is answered 503 within
 * --pool-wait-timeout; stalled bodies get 408 after --client-body-timeout, freeing the pool; one
 * address may hold at most --max-requests-per-ip requests.
 */

import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import { makePki, metrics, metricValue, startProxy, startUpstream } from './helpers.js';
import { rawHttp1 } from './raw-clients.js';

const pki = await makePki();
const upstream = await startUpstream(t);
const proxy = await startProxy(t, pki, upstream.url, [
  '--upstream-connections',
  '4',
  '--upstream-timeout',
  '30s',
  '--pool-wait-timeout',
  '1s',
  '--client-body-timeout',
  '3s',
  '--max-requests-per-ip',
  '2',
]);

const rejected = async (limit: string) =>
  metricValue(await metrics(proxy), `podkit_tls_proxy_limit_rejections_total{limit="${limit}"}`);

const slowPost = 'POST /echo?slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789';
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

t.test(
  'slow bodies holding the pool: others get 503 in time, the stalled get 408, then all is served',
  async (t) => {
    // Four uploads that stall after 10 bytes, from two addresses (two each, the per-address cap).
    const slow = [
      await rawHttp1(pki, proxy.port, slowPost, '127.0.0.1'),
      await rawHttp1(pki, proxy.port, slowPost, '127.0.0.1'),
      await rawHttp1(pki, proxy.port, slowPost, '127.0.0.3'),
      await rawHttp1(pki, proxy.port, slowPost, '127.0.0.3'),
    ];
    t.teardown(() => {
      for (const s of slow) s.socket.destroy();
    });

    const third = await rawHttp1(pki, proxy.port, slowPost, '127.0.0.1');
    // Its body is never read: the connection closes at once rather than wait for the rest.
    const closedFirst = await Promise.race([
      third.closed.then(() => 'the refused one'),
      Promise.race(slow.map((s) => s.closed)).then(() => 'a stalled one'),
    ]);
    t.equal(closedFirst, 'the refused one', 'a refused upload is not kept waiting for its body');
    t.match(
      third.received(),
      /^HTTP\/1\.1 429 Too Many Requests/,
      'a third request from one address gets 429',
    );
    t.equal(await rejected('requests_per_ip'), 1);

    const started = Date.now();
    const waiting = await rawHttp1(pki, proxy.port, get('/echo?waiting'), '127.0.0.2');
    await waiting.closed;
    const took = Date.now() - started;
    t.match(waiting.received(), /^HTTP\/1\.1 503 Service Unavailable/, waiting.received().slice(0, 300));
    t.match(waiting.received(), /"code":"PODKIT_ERR_UPSTREAM_BUSY"/);
    t.ok(took >= 900 && took < 5000, `within the 1 s pool wait, not the 30 s upstream timeout (${took} ms)`);
    t.equal(await rejected('pool_wait'), 1);

    await Promise.all(slow.map((s) => s.closed));
    for (const s of slow) t.match(s.received(), /^HTTP\/1\.1 408 Request Timeout/, 'a stalled body gets 408');
    t.equal(await rejected('body_idle'), 4);
    t.notOk(
      upstream.seen.some((r) => r.url === '/echo?slow'),
      'no truncated body was completed at the upstream',
    );

    await waitFor(
      async () => {
        const after = await rawHttp1(pki, proxy.port, get('/echo?after'), '127.0.0.2');
        await after.closed;
        return /^HTTP\/1\.1 200 OK/.test(after.received());
      },
      { what: 'the freed pool serving again' },
    );
  },
);
