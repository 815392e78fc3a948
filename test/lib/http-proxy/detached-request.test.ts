/**
 * Requests nobody waits for (a mirror's copies) against real upstreams: the upstream gets the exact
 * request, the answer is kept up to a bound, a slow upstream is cut at the deadline, a down one fails
 * at once, and each outcome is counted on the upstream's handles.
 */

import type { IncomingMessage } from 'node:http';
import t from 'tap';
import { sendDetached } from '../../../lib/http-proxy/detached-request.js';
import { Upstreams } from '../../../lib/http-proxy/upstreams.js';
import { freePort } from '../../support/ports.js';
import { startUpstream, testMetrics } from './proxy-fixture.js';

function upstreamsFor(t: Parameters<typeof startUpstream>[0], origin: string, timeoutMs = 5000) {
  const metrics = testMetrics();
  const upstreams = new Upstreams({ onLoadFailed() {} });
  const mirror = upstreams.add({
    name: 'mirror',
    origin,
    connections: 2,
    timeoutMs,
    metrics: metrics.bind('mirror'),
    onRefused() {},
  });
  t.teardown(() => upstreams.close());
  return { mirror, metrics };
}

t.test('the upstream gets the request as given; the answer is kept up to the bound', async (t) => {
  const seen: { method?: string; url?: string; header?: string | string[]; body: string }[] = [];
  const upstream = await startUpstream(t, (req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, header: req.headers['x-copy'], body });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(req.url === '/big' ? 'x'.repeat(5000) : '{"ok":true}');
    });
  });
  const { mirror, metrics } = upstreamsFor(t, upstream.origin);
  const small = await sendDetached(
    mirror,
    { method: 'PUT', path: '/orders/7?x=1', headers: ['x-copy', 'yes'], body: Buffer.from('{"n":1}') },
    { deadlineMs: 5000, keepBodyBytes: 1024 },
  );
  t.same(seen[0], { method: 'PUT', url: '/orders/7?x=1', header: 'yes', body: '{"n":1}' });
  t.ok(small.ok);
  if (small.ok) {
    t.equal(small.status, 201);
    t.equal(small.body?.toString(), '{"ok":true}');
    const names = small.rawHeaders.filter((_, i) => i % 2 === 0).map((b) => b.toString().toLowerCase());
    t.ok(names.includes('content-type'), 'the raw response head is handed over');
  }
  const big = await sendDetached(
    mirror,
    { method: 'GET', path: '/big', headers: [] },
    { deadlineMs: 5000, keepBodyBytes: 1024 },
  );
  t.ok(big.ok, 'an answer over the bound still completes');
  if (big.ok) t.equal(big.body, undefined, 'but its body is not kept');
  t.equal(await metrics.value('test_requests_total', { upstream: 'mirror', status_class: '2xx' }), 2);
  t.equal(await metrics.value('test_duration_seconds_count', { upstream: 'mirror' }), 2);
});

t.test('a slow upstream is cut at the deadline; a down one fails at once; both counted', async (t) => {
  const upstream = await startUpstream(t, (_req, res) => {
    const timer = setTimeout(() => res.end('late'), 5000);
    res.once('close', () => clearTimeout(timer));
  });
  const { mirror, metrics } = upstreamsFor(t, upstream.origin);
  const startedAt = performance.now();
  const slow = await sendDetached(
    mirror,
    { method: 'GET', path: '/', headers: [] },
    { deadlineMs: 300, keepBodyBytes: 0 },
  );
  const tookMs = performance.now() - startedAt;
  t.same(slow.ok ? 'answered' : slow.reason, 'timeout');
  t.ok(tookMs >= 290 && tookMs < 3000, `settled after ${tookMs.toFixed(0)} ms (deadline 300 ms)`);
  t.equal(await metrics.value('test_upstream_errors_total', { upstream: 'mirror', reason: 'timeout' }), 1);

  const down = upstreamsFor(t, `http://127.0.0.1:${await freePort()}`);
  const refused = await sendDetached(
    down.mirror,
    { method: 'GET', path: '/', headers: [] },
    { deadlineMs: 5000, keepBodyBytes: 0 },
  );
  t.same(refused.ok ? 'answered' : refused.reason, 'connect');
  t.equal(
    await down.metrics.value('test_upstream_errors_total', { upstream: 'mirror', reason: 'connect' }),
    1,
  );
});
