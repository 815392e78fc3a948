/**
 * The proxy core between a real client, a real client-facing server and real upstreams: what a client
 * of the proxy sees (statuses, headers, bodies, errors), what the upstream sees, and what is counted.
 */

import { type IncomingMessage, request } from 'node:http';
import t from 'tap';
import type { BodyCopy } from '../../../lib/http-proxy/body-tee.js';
import type { UpstreamErrorReason } from '../../../lib/http-proxy/metrics.js';
import { httpRequest } from '../../support/http.js';
import { freePort } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import { openResponse, readAll, startProxy, startUpstream } from './proxy-fixture.js';

t.test(
  'an answer streams through: status, headers without hop-by-hop fields, the caller’s headers, counted',
  async (t) => {
    const upstream = await startUpstream(t, (req, res) => {
      res.writeHead(201, [
        'connection',
        'x-hop',
        'x-hop',
        'gone',
        'x-kept',
        'yes',
        'set-cookie',
        'a=1',
        'set-cookie',
        'b=2',
      ]);
      res.end(
        `made ${req.url} for ${req.headers['x-forwarded-for']} over ${req.headers['x-forwarded-proto']}`,
      );
    });
    const proxy = await startProxy(t, {
      upstreams: [{ name: 'primary', origin: upstream.origin, connections: 4, timeoutMs: 5000 }],
      responseHeaders: (u) => ['x-podkit-variant', u.name],
    });
    const answer = await httpRequest(`${proxy.url}/things?a=1`);
    t.equal(answer.status, 201);
    t.equal(answer.body, 'made /things?a=1 for 127.0.0.1 over http');
    t.equal(answer.headers['x-kept'], 'yes');
    t.same(answer.headers['set-cookie'], ['a=1', 'b=2'], 'repeated fields all arrive');
    t.notOk('x-hop' in answer.headers, 'fields the upstream named in Connection are dropped');
    t.equal(answer.headers['x-podkit-variant'], 'primary', 'the caller’s header is added');
    const { value } = proxy.metrics;
    t.equal(await value('test_requests_total', { upstream: 'primary', status_class: '2xx' }), 1);
    t.equal(await value('test_duration_seconds_count', { upstream: 'primary' }), 1);
  },
);

t.test('1xx interim answers are not relayed; the final answer is', async (t) => {
  const upstream = await startUpstream(t, (_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' }, () => res.end('final'));
  });
  const proxy = await startProxy(t, {
    upstreams: [{ name: 'primary', origin: upstream.origin, connections: 1, timeoutMs: 5000 }],
  });
  const interim: number[] = [];
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(`${proxy.url}/`, resolve);
    req.on('information', (info) => interim.push(info.statusCode));
    req.on('error', reject);
    req.end();
  });
  t.equal(res.statusCode, 200);
  t.equal(await readAll(res), 'final'.length);
  t.same(interim, [], 'no 103 reached the client');
});

t.test('a reset connection: GET is sent again once, POST with a body is not', async (t) => {
  const attempts: Record<string, number> = {};
  const upstream = await startUpstream(t, (req, res) => {
    const path = req.url ?? '';
    attempts[path] = (attempts[path] ?? 0) + 1;
    // As a kept-alive connection the upstream closed: the request is lost without an answer.
    if (path === '/always' || (path.startsWith('/once') && attempts[path] === 1)) {
      req.socket.destroy();
      return;
    }
    req.resume();
    req.on('end', () => res.end(`attempt ${attempts[path]}`));
  });
  const proxy = await startProxy(t, {
    upstreams: [{ name: 'primary', origin: upstream.origin, connections: 2, timeoutMs: 5000 }],
  });
  const once = await httpRequest(`${proxy.url}/once`);
  t.equal(once.status, 200);
  t.equal(once.body, 'attempt 2', 'the GET was sent again');

  const always = await httpRequest(`${proxy.url}/always`);
  t.equal(always.status, 502);
  t.equal(attempts['/always'], 2, 'sent again only once');

  const post = await httpRequest(`${proxy.url}/once-post`, { method: 'POST', body: 'payload' });
  t.equal(post.status, 502);
  t.match(JSON.parse(post.body), { code: 'PODKIT_ERR_UPSTREAM', error: /^upstream unavailable \(/ });
  t.equal(attempts['/once-post'], 1, 'a request with a body is never sent twice');
  t.equal(
    await proxy.metrics.value('test_upstream_errors_total', { upstream: 'primary', reason: 'reset' }),
    2,
    'the two that failed (a reset the retry recovered from is not a failure)',
  );
});

t.test('an upstream that refuses connections: 502 with a JSON body at once, readiness told', async (t) => {
  const port = await freePort();
  const proxy = await startProxy(t, {
    upstreams: [{ name: 'primary', origin: `http://127.0.0.1:${port}`, connections: 1, timeoutMs: 5000 }],
  });
  const started = Date.now();
  const answer = await httpRequest(`${proxy.url}/`);
  t.equal(answer.status, 502);
  t.ok(Date.now() - started < 1000, 'answered at once');
  t.same(JSON.parse(answer.body), {
    error: 'upstream unavailable (ECONNREFUSED)',
    code: 'PODKIT_ERR_UPSTREAM',
  });
  t.equal(answer.headers['content-type'], 'application/json');
  t.same(proxy.refused, ['primary'], 'the readiness hook heard of it');
  const { value } = proxy.metrics;
  t.equal(await value('test_upstream_errors_total', { upstream: 'primary', reason: 'connect' }), 1);
  t.equal(await value('test_requests_total', { upstream: 'primary', status_class: '5xx' }), 1);
});

t.test('an upstream slower than its timeout: 504 with a JSON body', async (t) => {
  const upstream = await startUpstream(t, () => {
    // Never answers.
  });
  const proxy = await startProxy(t, {
    upstreams: [{ name: 'primary', origin: upstream.origin, connections: 1, timeoutMs: 300 }],
  });
  const started = Date.now();
  const answer = await httpRequest(`${proxy.url}/slow`);
  const took = Date.now() - started;
  t.equal(answer.status, 504);
  t.ok(took >= 250 && took < 3000, `after the 300 ms timeout (${took} ms)`);
  t.same(JSON.parse(answer.body), {
    error: 'upstream did not answer within 300 ms',
    code: 'PODKIT_ERR_UPSTREAM_TIMEOUT',
  });
  t.equal(
    await proxy.metrics.value('test_upstream_errors_total', { upstream: 'primary', reason: 'timeout' }),
    1,
  );
});

t.test(
  'an upstream that fails mid-body: the client’s response is cut short and the failure logged',
  async (t) => {
    const upstream = await startUpstream(t, (req, res) => {
      res.writeHead(200, ['content-length', '1000']);
      res.write('x'.repeat(100), () => req.socket.destroy());
    });
    const proxy = await startProxy(t, {
      upstreams: [{ name: 'primary', origin: upstream.origin, connections: 1, timeoutMs: 5000 }],
    });
    const res = await openResponse(`${proxy.url}/partial`);
    t.equal(res.statusCode, 200, 'the head had gone out');
    await t.rejects(
      readAll(res),
      /aborted|ECONNRESET|socket hang up/,
      'the body ends in an error, not short and quiet',
    );
    await waitFor(() => proxy.lines.some((l) => l.msg === 'upstream failed after the response had started'), {
      what: 'the log line',
    });
    t.match(
      proxy.lines.find((l) => l.msg === 'upstream failed after the response had started'),
      {
        level: 'warn',
        code: 'PODKIT_ERR_UPSTREAM',
        upstream: 'primary',
        reason: 'reset',
        request: 'GET /partial',
      },
    );
  },
);

t.test('a client that goes away mid-answer stops the upstream exchange', async (t) => {
  let upstreamClosed = false;
  const upstream = await startUpstream(t, (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('tick\n'), 10);
    res.once('close', () => {
      clearInterval(timer);
      upstreamClosed = true;
    });
  });
  const ended: [number, UpstreamErrorReason | undefined][] = [];
  const proxy = await startProxy(t, {
    upstreams: [{ name: 'primary', origin: upstream.origin, connections: 1, timeoutMs: 5000 }],
    observer: () => ({ end: (status, _seconds, failure) => ended.push([status, failure]) }),
  });
  const res = await openResponse(`${proxy.url}/stream`);
  await new Promise((resolve) => res.once('data', resolve));
  res.destroy();
  await waitFor(() => upstreamClosed, { what: 'the upstream to see its exchange closed' });
  t.same(ended, [[0, undefined]], 'the observer heard that no whole answer went out');
});

t.test('an observer sees the head, every body chunk and how the exchange ended', async (t) => {
  const upstream = await startUpstream(t, (_req, res) => {
    res.writeHead(200, ['content-type', 'application/json', 'x-version', '2']);
    res.write('{"a":');
    res.end('1}');
  });
  const seen: {
    status?: number;
    head?: string[];
    body: string;
    end?: [number, number, UpstreamErrorReason | undefined];
  }[] = [];
  const proxy = await startProxy(t, {
    upstreams: [
      { name: 'primary', origin: upstream.origin, connections: 1, timeoutMs: 5000 },
      { name: 'down', origin: `http://127.0.0.1:${await freePort()}`, connections: 1, timeoutMs: 5000 },
    ],
    observer: () => {
      const record: (typeof seen)[number] = { body: '' };
      seen.push(record);
      return {
        responseStart(status, rawHeaders) {
          record.status = status;
          record.head = rawHeaders.map(String);
        },
        responseData(chunk) {
          record.body += chunk;
        },
        end(status, seconds, failure) {
          record.end = [status, seconds, failure];
        },
      };
    },
  });
  const answer = await httpRequest(`${proxy.url}/json`);
  t.equal(answer.body, '{"a":1}');
  await waitFor(() => seen[0]?.end !== undefined, { what: 'the end of the first exchange' });
  t.match(seen[0], { status: 200, body: '{"a":1}', end: [200, Number, undefined] });
  t.match(seen[0]?.head, ['content-type', 'application/json', 'x-version', '2']);
  t.ok((seen[0]?.end?.[1] ?? -1) >= 0, 'with its duration');

  const failed = await httpRequest(`${proxy.url}/json`, { headers: { 'x-test-upstream': 'down' } });
  t.equal(failed.status, 502);
  t.match(seen[1], { body: '', end: [502, Number, 'connect'] }, 'a failed exchange ends with its reason');
  t.equal(seen[1]?.status, undefined, 'and never had an upstream head');
});

t.test('a teed request body: the upstream gets it whole while a bounded copy is kept', async (t) => {
  const upstream = await startUpstream(t, (req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => res.end(String(bytes)));
  });
  const copies: BodyCopy[] = [];
  const proxy = await startProxy(t, {
    upstreams: [{ name: 'primary', origin: upstream.origin, connections: 1, timeoutMs: 5000 }],
    tee: { maxBytes: 100_000, copied: (copy) => copies.push(copy) },
  });
  const small = 'a'.repeat(60_000);
  t.equal((await httpRequest(`${proxy.url}/small`, { method: 'POST', body: small })).body, '60000');
  await waitFor(() => copies.length === 1, { what: 'the first copy' });
  t.match(copies[0], { ok: true });
  t.equal(copies[0]?.ok && copies[0].body.toString(), small, 'the copy is the body');

  const large = 'b'.repeat(300_000);
  t.equal(
    (await httpRequest(`${proxy.url}/large`, { method: 'POST', body: large })).body,
    '300000',
    'a body over the limit still reaches the upstream whole',
  );
  await waitFor(() => copies.length === 2, { what: 'the second copy' });
  t.same(copies[1], { ok: false, reason: 'too-large' });
});

t.test('while the client side drains, HTTP/1.1 answers carry connection: close', async (t) => {
  let release: (() => void) | undefined;
  const upstream = await startUpstream(t, (_req, res) => {
    release = () => res.end('late');
  });
  const proxy = await startProxy(t, {
    upstreams: [{ name: 'primary', origin: upstream.origin, connections: 1, timeoutMs: 5000 }],
  });
  const pending = httpRequest(`${proxy.url}/held`);
  await waitFor(() => release !== undefined, { what: 'the request at the upstream' });
  const drained = proxy.connections.drain();
  release?.();
  const answer = await pending;
  t.equal(answer.body, 'late', 'the request in flight was answered');
  t.equal(answer.headers.connection, 'close');
  await drained;
});
