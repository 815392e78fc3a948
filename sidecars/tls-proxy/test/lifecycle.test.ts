/**
 * Shutdown and workers as a real process: SIGTERM under load loses no request and exits 0; --workers 2
 * serves from two processes, sums their metrics, reloads certificates in both, replaces a worker that
 * dies, and drains both on SIGTERM.
 */

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { writeFileAtomic } from '../../../lib/atomic-fs.js';
import { writeCert } from '../../../test/support/certs.js';
import { alive } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  httpsRequest,
  makePki,
  metrics,
  metricValue,
  type ProxyProcess,
  run,
  startProxy,
  startUpstream,
} from './helpers.js';

const pki = await makePki();
const upstream = await startUpstream(t);
const exec = promisify(execFile);

/**
 * Load the way a Service sends it: several kept-alive clients that stop starting new requests once
 * /readyz says 503 (the endpoint is removed), while what they already sent must complete.
 */
function serviceLoad(proxy: ProxyProcess, path = '/echo') {
  const agent = new Agent({ keepAlive: true, maxSockets: 8, ca: readFileSync(pki.caFile) });
  const results = { ok: 0, failed: [] as string[] };
  let endpointRemoved = false;
  const watcher = setInterval(async () => {
    const readyz = await fetch(`${proxy.adminUrl}/readyz`).catch(() => undefined);
    if (readyz?.status !== 200) endpointRemoved = true;
  }, 50);
  const loop = async () => {
    while (!endpointRemoved) {
      try {
        const response = await httpsRequest(`${proxy.url}${path}`, pki, { agent });
        if (response.status === 200) results.ok++;
        else results.failed.push(`status ${response.status}`);
      } catch (err) {
        results.failed.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: 8 }, loop);
  return {
    results,
    async done() {
      await Promise.all(loops);
      clearInterval(watcher);
      agent.destroy();
      return results;
    },
  };
}

t.test('SIGTERM under load: /readyz 503, in-flight requests finish, 0 failed, exit 0', async (t) => {
  // The delay stands for endpoint propagation: the load must see /readyz 503 within it, on a busy
  // machine too, before the listener closes.
  const proxy = await startProxy(t, pki, upstream.url, [
    '--shutdown-delay',
    '3s',
    '--shutdown-timeout',
    '10s',
  ]);
  const load = serviceLoad(proxy);
  await waitFor(() => load.results.ok > 50, { what: 'load running' });
  // Slow requests in flight across the signal, over HTTP/1.1 and HTTP/2, and still in flight when the
  // drain begins after the 3 s delay.
  const slow = httpsRequest(`${proxy.url}/slow?ms=5000`, pki);
  const slowH2 = run('curl', ['-sS', '--http2', '--cacert', pki.caFile, `${proxy.url}/slow?ms=5000`]);
  await waitFor(() => upstream.seen.filter((r) => r.url === '/slow?ms=5000').length === 2, {
    what: 'slow requests at the upstream',
  });
  const signalledAt = Date.now();
  proxy.signal('SIGTERM');
  const results = await load.done();
  t.same(results.failed, [], `0 failed of ${results.ok} requests`);
  t.equal((await slow).status, 200, 'the slow HTTP/1.1 request finished');
  t.equal((await slowH2).stdout, 'slow done\n', 'the slow HTTP/2 request finished');
  const exit = await proxy.exited;
  t.equal(exit.code, 0, 'exit 0');
  t.ok(Date.now() - signalledAt < 10_000, 'within the 10 s drain timeout, after the 3 s delay');
  t.ok(proxy.logs.some((l) => l.msg === 'stopped'));
});

t.test('a WebSocket open at SIGTERM is closed when its grace ends, and the exit is still 0', async (t) => {
  // A 10 s deadline leaves a 2 s tail after the 8 s grace: on a busy machine the close must still reach
  // the client, and the proxy exit, before the deadline.
  const proxy = await startProxy(t, pki, upstream.url, ['--shutdown-timeout', '10s']);
  const { default: WebSocket } = await import('ws');
  const socket = new WebSocket(`wss://127.0.0.1:${proxy.port}/ws`, { ca: readFileSync(pki.caFile) });
  await new Promise((resolve, reject) => {
    socket.once('message', resolve);
    socket.once('error', reject);
  });
  const signalledAt = Date.now();
  proxy.signal('SIGTERM');
  await new Promise((resolve) => socket.once('close', resolve));
  const closedAfter = Date.now() - signalledAt;
  t.ok(
    closedAfter >= 7600 && closedAfter < 10_000,
    `closed ${closedAfter} ms after SIGTERM (grace 8 s of 10 s)`,
  );
  t.equal((await proxy.exited).code, 0);
});

t.test(
  '--workers 2: two serving processes, summed metrics, reloads reach both, a dead worker is replaced',
  async (t) => {
    const first = await pki.ca.localhost();
    const cert = await writeCert(join(pki.dir, 'workers'), 'tls', first);
    const proxy = await startProxy(t, pki, upstream.url, ['--workers', '2', '--shutdown-delay', '3s'], {
      cert,
    });
    const workers = async () =>
      (await exec('pgrep', ['-P', String(proxy.pid)])).stdout.trim().split('\n').filter(Boolean).map(Number);
    await waitFor(async () => (await workers()).length === 2, { what: 'two workers' });
    t.equal((await workers()).length, 2, 'two worker processes under the primary');

    const requests = 40;
    const responses = await Promise.all(
      Array.from({ length: requests }, () =>
        httpsRequest(`${proxy.url}/echo`, pki, {
          agent: new Agent({ keepAlive: false, ca: readFileSync(pki.caFile) }),
        }),
      ),
    );
    t.ok(responses.every((r) => r.status === 200));
    const text = await metrics(proxy);
    t.equal(
      metricValue(text, 'podkit_tls_proxy_requests_total{status_class="2xx"}'),
      requests,
      'the primary reports the sum over workers',
    );
    t.equal(metricValue(text, 'podkit_tls_proxy_request_duration_seconds_count'), requests);
    t.match(text, /^podkit_build_info\{component="tls-proxy"/m);
    const lint = await run('promtool', ['check', 'metrics'], text);
    t.equal(`${lint.stdout}${lint.stderr}`.trim(), '', 'promtool accepts the aggregated metrics');

    const next = await pki.ca.localhost();
    await writeFileAtomic(cert.chain, next.chainPem);
    await writeFileAtomic(cert.key, next.keyPem);
    const nextFingerprint = next.fingerprint.toUpperCase().match(/../g)?.join(':');
    await waitFor(
      async () => {
        const fresh = await Promise.all(
          Array.from({ length: 20 }, () =>
            httpsRequest(`${proxy.url}/echo`, pki, {
              agent: new Agent({ keepAlive: false, ca: readFileSync(pki.caFile) }),
            }),
          ),
        );
        return fresh.every((r) => r.fingerprint === nextFingerprint);
      },
      { what: 'every worker serving the new certificate' },
    );
    t.pass('20 new connections, spread over the workers, all got the new certificate');

    const [victim] = await workers();
    process.kill(victim as number, 'SIGKILL');
    await proxy.waitForLog((l) => l.code === 'PODKIT_ERR_WORKER');
    await waitFor(
      async () => (await workers()).length === 2 && !(await workers()).includes(victim as number),
      {
        timeoutMs: 15_000,
        what: 'a replacement worker',
      },
    );
    t.pass('the dead worker was replaced');
    const after = await Promise.all(Array.from({ length: 10 }, () => httpsRequest(`${proxy.url}/echo`, pki)));
    t.ok(
      after.every((r) => r.status === 200),
      'and every request is served',
    );

    const load = serviceLoad(proxy);
    await waitFor(() => load.results.ok > 50, { what: 'load on both workers' });
    const serving = await workers();
    proxy.signal('SIGTERM');
    const results = await load.done();
    t.same(results.failed, [], `0 failed of ${results.ok} while both workers drained`);
    t.equal((await proxy.exited).code, 0, 'exit 0');
    // By pid: once the primary is gone its children can no longer be listed under it. The primary
    // waits for each worker's exit, so none may outlive it.
    t.equal(serving.length, 2, 'two workers were serving');
    t.same(serving.filter(alive), [], 'no worker left behind');
  },
);
