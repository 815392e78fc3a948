/**
 * Several named upstreams behind one proxy, as a traffic split has them: each with its own keep-alive
 * pool and its own metric labels, a name defined once, all closed together.
 */

import type { IncomingMessage } from 'node:http';
import t from 'tap';
import { Upstreams } from '../../../lib/http-proxy/upstreams.js';
import { httpRequest } from '../../support/http.js';
import { waitFor } from '../../support/wait.js';
import { startProxy, startUpstream } from './proxy-fixture.js';

/** An upstream that says who it is and remembers the client ports it was reached from. */
async function namedUpstream(t: Parameters<typeof startUpstream>[0], name: string) {
  const ports = new Set<number>();
  const upstream = await startUpstream(t, (req: IncomingMessage, res) => {
    ports.add(req.socket.remotePort ?? 0);
    res.end(name);
  });
  return { ...upstream, ports };
}

t.test('named upstreams: their own pools, their own metric labels, a header naming each', async (t) => {
  const primary = await namedUpstream(t, 'production');
  const beta = await namedUpstream(t, 'beta build');
  const proxy = await startProxy(t, {
    upstreams: [
      { name: 'primary', origin: primary.origin, connections: 4, timeoutMs: 5000 },
      { name: 'beta', origin: beta.origin, connections: 4, timeoutMs: 5000 },
    ],
    responseHeaders: (upstream) => ['x-podkit-variant', upstream.name],
  });
  const answers = [];
  for (const to of ['primary', 'beta', 'primary', 'beta', 'primary']) {
    answers.push(await httpRequest(`${proxy.url}/`, { headers: { 'x-test-upstream': to } }));
  }
  t.same(
    answers.map((a) => [a.body, a.headers['x-podkit-variant']]),
    [
      ['production', 'primary'],
      ['beta build', 'beta'],
      ['production', 'primary'],
      ['beta build', 'beta'],
      ['production', 'primary'],
    ],
  );
  t.equal(primary.ports.size, 1, 'requests one after another reuse one kept-alive connection to primary');
  t.equal(beta.ports.size, 1, 'and one to beta');
  const { value } = proxy.metrics;
  t.equal(await value('test_requests_total', { upstream: 'primary', status_class: '2xx' }), 3);
  t.equal(await value('test_requests_total', { upstream: 'beta', status_class: '2xx' }), 2);
  t.equal(await value('test_duration_seconds_count', { upstream: 'beta' }), 2);
  t.equal(
    await value('test_upstream_errors_total', { upstream: 'beta', reason: 'connect' }),
    0,
    'every series exists',
  );

  await proxy.upstreams.close();
  const after = await httpRequest(`${proxy.url}/`, { headers: { 'x-test-upstream': 'beta' } });
  t.equal(after.status, 502, 'closed together: nothing more is sent');
});

t.test('a name is defined once', async (t) => {
  const upstreams = new Upstreams({ onLoadFailed() {} });
  const spec = {
    name: 'primary',
    origin: 'http://127.0.0.1:9',
    connections: 1,
    timeoutMs: 1000,
    metrics: undefined as never,
    onRefused() {},
  };
  upstreams.add(spec);
  t.throws(
    () => upstreams.add({ ...spec, origin: 'http://127.0.0.1:10' }),
    /upstream "primary" is already defined/,
  );
  t.equal(upstreams.get('primary')?.name, 'primary');
  t.equal(upstreams.get('beta'), undefined);
  await upstreams.close();
});

t.test('delete: requests in flight finish on the old pool, the name is free again at once', async (t) => {
  let release: (() => void) | undefined;
  const old = await startUpstream(t, (_req, res) => {
    release = () => res.end('old');
  });
  const next = await startUpstream(t, (_req, res) => res.end('new'));
  const proxy = await startProxy(t, {
    upstreams: [{ name: 'beta', origin: old.origin, connections: 2, timeoutMs: 5000 }],
  });
  const inFlight = httpRequest(`${proxy.url}/`);
  await waitFor(() => release !== undefined, { what: 'the request at the old upstream' });
  const deleted = proxy.upstreams.delete('beta');
  t.equal(proxy.upstreams.get('beta'), undefined, 'gone from the set');
  proxy.upstreams.add({
    name: 'beta',
    origin: next.origin,
    connections: 2,
    timeoutMs: 5000,
    metrics: proxy.metrics.bind('beta'),
    onRefused() {},
  });
  t.equal((await httpRequest(`${proxy.url}/`)).body, 'new', 'the name now reaches the new upstream');
  release?.();
  t.equal((await inFlight).body, 'old', 'the request in flight got its answer from the old upstream');
  await deleted;
  await proxy.upstreams.delete('beta');
  await proxy.upstreams.delete('never-defined');
});
