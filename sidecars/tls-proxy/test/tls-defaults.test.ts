/**
 * The TLS bar with real clients (node's TLS client, set to what an old or odd client offers): the TLS 1.2
 * suites are Mozilla's intermediate ones (no CBC, no RSA key exchange) in the server's order, --ciphers
 * replaces them and leaves TLS 1.3 alone, --min-tls-version TLSv1.3 refuses TLS 1.2, and a cipher list
 * OpenSSL cannot use exits 2 before anything listens.
 */

import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import t from 'tap';
import { runPodkit } from '../../../test/support/process.js';
import { makePki, metrics, metricValue, startProxy, startUpstream } from './helpers.js';

const pki = await makePki();
const upstream = await startUpstream(t);
const ca = readFileSync(pki.caFile);

interface Handshake {
  ok: boolean;
  protocol?: string | null;
  cipher?: string;
  error?: string;
}

/** One handshake with node's client offering exactly `ciphers` (TLS 1.2 only unless `maxVersion`). */
function handshake(
  port: number,
  options: { ciphers?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; minVersion?: 'TLSv1.2' } = {},
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      maxVersion: options.maxVersion ?? 'TLSv1.2',
      ...(options.minVersion ? { minVersion: options.minVersion } : {}),
      ...(options.ciphers ? { ciphers: options.ciphers } : {}),
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('secureConnect', () => {
      resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().standardName });
      socket.end();
    });
    socket.once('error', (err) => resolve({ ok: false, error: err.message }));
  });
}

// The test certificates have ECDSA keys: these are the suites such a server could otherwise pick.
const cbcOnly =
  'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384';

t.test('default TLS 1.2 suites: CBC refused, ECDHE with AES-GCM or ChaCha20 served', async (t) => {
  const proxy = await startProxy(t, pki, upstream.url);
  const cbc = await handshake(proxy.port, { ciphers: cbcOnly });
  t.notOk(cbc.ok, 'a TLS 1.2 client offering only CBC suites is refused');
  t.match(cbc.error, /handshake failure|alert/i);
  const gcm = await handshake(proxy.port, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  t.same(gcm, { ok: true, protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256' });
  const chacha = await handshake(proxy.port, { ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
  t.equal(chacha.cipher, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256');
  // The client lists CBC and ChaCha20 before AES-128-GCM: the server's order wins.
  const preferred = await handshake(proxy.port, {
    ciphers: `ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256`,
  });
  t.equal(preferred.cipher, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', "the server's order is preferred");
  const tls13 = await handshake(proxy.port, { maxVersion: 'TLSv1.3' });
  t.equal(tls13.protocol, 'TLSv1.3', 'TLS 1.3 as before');
  t.equal(
    metricValue(
      await metrics(proxy),
      'podkit_tls_proxy_tls_handshake_failures_total{reason="no_shared_cipher"}',
    ),
    1,
    'the refusal is counted',
  );
});

t.test('--ciphers replaces the TLS 1.2 list and keeps TLS 1.3', async (t) => {
  const proxy = await startProxy(t, pki, upstream.url, ['--ciphers', 'ECDHE-ECDSA-AES256-SHA']);
  const cbc = await handshake(proxy.port, { ciphers: cbcOnly });
  t.equal(cbc.cipher, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'the chosen CBC suite is served');
  const gcm = await handshake(proxy.port, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  t.notOk(gcm.ok, 'a suite left out of --ciphers is refused');
  const tls13 = await handshake(proxy.port, { maxVersion: 'TLSv1.3' });
  t.equal(tls13.protocol, 'TLSv1.3', 'a TLS 1.2 list does not turn TLS 1.3 off');
});

t.test('--min-tls-version TLSv1.3 refuses a TLS 1.2 client', async (t) => {
  const proxy = await startProxy(t, pki, upstream.url, ['--min-tls-version', 'TLSv1.3']);
  const old = await handshake(proxy.port, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  t.notOk(old.ok);
  t.match(old.error, /protocol version|alert/i);
  t.equal((await handshake(proxy.port, { maxVersion: 'TLSv1.3' })).protocol, 'TLSv1.3');
  t.equal(
    metricValue(
      await metrics(proxy),
      'podkit_tls_proxy_tls_handshake_failures_total{reason="protocol_version"}',
    ),
    1,
  );
});

t.test('a cipher list OpenSSL cannot use exits 2 with one line', async (t) => {
  const result = await runPodkit([
    'tls-proxy',
    '--cert-file',
    pki.server.chain,
    '--key-file',
    pki.server.key,
    '--ciphers',
    'NOT-A-CIPHER',
  ]);
  t.equal(result.code, 2);
  t.match(result.stderr, /--ciphers "NOT-A-CIPHER" is not a cipher list OpenSSL accepts/);
  t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
});
