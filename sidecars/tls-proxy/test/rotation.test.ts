/**
 * Certificate rotation the way Kubernetes does it: a Secret volume whose `..data` symlink is swapped to
 * a new version directory. Under continuous load no request fails, new handshakes get the new
 * certificate within a second, open connections keep working; a broken pair is refused and the old one
 * keeps serving; SIGHUP reloads too.
 */

import { readFileSync } from 'node:fs';
import { symlink, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import t from 'tap';
import { publishVersionedDir } from '../../../lib/atomic-fs.js';
import type { IssuedCert } from '../../../test/support/certs.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  httpsRequest,
  makePki,
  metrics,
  metricValue,
  type ProxyProcess,
  startProxy,
  startUpstream,
  type TestPki,
} from './helpers.js';

const pki = await makePki();
const upstream = await startUpstream(t);

/** A Secret volume: `tls.crt`/`tls.key` -> `..data/...` -> `..<version>/...`. */
async function secretVolume(name: string, first: IssuedCert) {
  const root = join(pki.dir, name);
  let version = 0;
  const publish = (cert: IssuedCert, key = cert.keyPem) =>
    publishVersionedDir({ root, link: '..data', prefix: '..v', keep: 2 }, String(++version), async (dir) => {
      await writeFile(join(dir, 'tls.crt'), cert.chainPem);
      await writeFile(join(dir, 'tls.key'), key, { mode: 0o600 });
    });
  await publish(first);
  await symlink('..data/tls.crt', join(root, 'tls.crt'));
  await symlink('..data/tls.key', join(root, 'tls.key'));
  return { cert: join(root, 'tls.crt'), key: join(root, 'tls.key'), chain: join(root, 'tls.crt'), publish };
}

/** Continuous load: fresh connections (each a handshake) and kept-alive ones, counting failures. */
function load(proxy: ProxyProcess, testPki: TestPki) {
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 2, ca: readFileSync(testPki.caFile) });
  const fresh = new Agent({ keepAlive: false, ca: readFileSync(testPki.caFile) });
  const results = { ok: 0, failed: [] as string[] };
  let running = true;
  const loop = async (agent: Agent) => {
    while (running) {
      try {
        const response = await httpsRequest(`${proxy.url}/echo`, testPki, { agent });
        if (response.status === 200) results.ok++;
        else results.failed.push(`status ${response.status}`);
      } catch (err) {
        results.failed.push((err as Error).message);
      }
    }
  };
  const loops = [keepAlive, keepAlive, fresh, fresh].map(loop);
  return {
    results,
    async stop() {
      running = false;
      await Promise.all(loops);
      keepAlive.destroy();
      fresh.destroy();
      return results;
    },
  };
}

t.test(
  'rotation under continuous load: 0 failed requests, the new certificate served within 1 s',
  async (t) => {
    const first = await pki.ca.localhost();
    const volume = await secretVolume('rotate', first);
    const proxy = await startProxy(t, pki, upstream.url, [], { cert: volume });
    const fingerprintOf = (cert: IssuedCert) => cert.fingerprint.toUpperCase().match(/../g)?.join(':');
    t.equal((await httpsRequest(`${proxy.url}/echo`, pki)).fingerprint, fingerprintOf(first));

    // An open connection from before the rotation must keep working after it.
    const held = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(pki.caFile) });
    t.teardown(() => held.destroy());
    const before = await httpsRequest(`${proxy.url}/echo`, pki, { agent: held });

    const traffic = load(proxy, pki);
    await waitFor(() => traffic.results.ok > 20, { what: 'load running' });
    const second = await pki.ca.localhost();
    const swapped = Date.now();
    await volume.publish(second);
    // Timed on the proxy's own clock (its log line, written once the new pair is in use): the test
    // process also runs the upstream and four load loops, so its own view of the swap would include
    // its scheduling delays on a busy machine.
    const reloaded = await proxy.waitForLog('certificate reloaded');
    const appliedMs = Date.parse(String(reloaded.time)) - swapped;
    t.ok(appliedMs < 1000, `the new certificate was applied ${appliedMs} ms after the swap`);
    const fresh = new Agent({ keepAlive: false, ca: readFileSync(pki.caFile) });
    t.equal(
      (await httpsRequest(`${proxy.url}/echo`, pki, { agent: fresh })).fingerprint,
      fingerprintOf(second),
      'the first handshake after the reload line gets the new certificate',
    );
    await waitFor(() => traffic.results.ok > 100, { timeoutMs: 20_000, what: 'more load after the swap' });
    const results = await traffic.stop();
    t.same(results.failed, [], `0 failed requests of ${results.ok + results.failed.length}`);

    const after = await httpsRequest(`${proxy.url}/echo`, pki, { agent: held });
    t.equal(after.status, 200, 'the connection opened before the rotation still works');
    t.equal(after.fingerprint, before.fingerprint, 'and still speaks with the certificate it started with');

    const text = await metrics(proxy);
    t.equal(metricValue(text, 'podkit_tls_proxy_certificate_reloads_total{result="success"}'), 1);
    t.ok(proxy.logs.some((line) => line.msg === 'certificate reloaded' && line.trigger === 'file'));
  },
);

t.test('a broken new pair is refused, logged and counted; the old one keeps serving', async (t) => {
  const first = await pki.ca.localhost();
  const volume = await secretVolume('broken', first);
  const proxy = await startProxy(t, pki, upstream.url, [], { cert: volume });
  const traffic = load(proxy, pki);
  const stranger = await pki.ca.localhost();
  await volume.publish(stranger, first.keyPem);
  const line = await proxy.waitForLog((l) => l.code === 'PODKIT_ERR_TLS_MATERIAL');
  t.equal(line.level, 'error');
  t.match(String(line.err), /tls\.key: the private key does not belong to the certificate/);
  t.equal(
    metricValue(await metrics(proxy), 'podkit_tls_proxy_certificate_reloads_total{result="failure"}'),
    1,
  );
  const response = await httpsRequest(`${proxy.url}/echo`, pki, {
    agent: new Agent({ keepAlive: false, ca: readFileSync(pki.caFile) }),
  });
  t.equal(response.status, 200);
  t.equal(
    response.fingerprint,
    first.fingerprint.toUpperCase().match(/../g)?.join(':'),
    'still the old certificate',
  );

  await volume.publish(stranger);
  await proxy.waitForLog('certificate reloaded');
  const results = await traffic.stop();
  t.same(results.failed, [], `0 failed requests of ${results.ok} while a broken pair came and went`);
  t.notOk(JSON.stringify(proxy.logs).includes('PRIVATE KEY'), 'no key material in the logs');
});

t.test('SIGHUP re-reads the files; a refused reload keeps serving', async (t) => {
  const first = await pki.ca.localhost();
  const volume = await secretVolume('sighup', first);
  const proxy = await startProxy(t, pki, upstream.url, ['--cert-poll-interval', '0'], { cert: volume });
  proxy.signal('SIGHUP');
  await proxy.waitForLog('certificate unchanged');
  t.match(await metrics(proxy), /^podkit_reloads_total\{result="success"\} 1$/m);

  // Break the key behind the watcher's back: write the file the link points at, then signal.
  const second = await pki.ca.localhost();
  await writeFile(join(pki.dir, 'sighup', '..data', 'tls.key'), second.keyPem);
  proxy.signal('SIGHUP');
  const refused = await proxy.waitForLog((l) => l.code === 'PODKIT_ERR_RELOAD');
  t.match(String(refused.err), /does not belong to the certificate/);
  t.match(await metrics(proxy), /^podkit_reloads_total\{result="failure"\} 1$/m);
  t.equal((await httpsRequest(`${proxy.url}/echo`, pki)).status, 200, 'still serving');
});
