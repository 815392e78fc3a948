/**
 * mTLS and rate limiting with real clients: openssl s_client with a good, an unknown and no client
 * certificate; the verified identity reaching the upstream; the allow-list; 429s with their headers and
 * the higher limit for authenticated clients.
 */

import t from 'tap';
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

const pki = await makePki();
const upstream = await startUpstream(t);

/** One HTTP/1.1 request through openssl s_client, returning the raw answer. */
async function sClient(port: number, cert?: { cert: string; key: string }): Promise<string> {
  const result = await run(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-CAfile',
      pki.caFile,
      '-servername',
      'localhost',
      '-quiet',
      ...(cert ? ['-cert', cert.cert, '-key', cert.key] : []),
    ],
    'GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Client-Cert: Hash=forged\r\nConnection: close\r\n\r\n',
  );
  return result.stdout;
}

t.test('--client-auth require: good, unknown and missing client certificates', async (t) => {
  const proxy = await startProxy(t, pki, upstream.url, [
    '--client-auth',
    'require',
    '--client-ca-file',
    pki.caFile,
  ]);

  const good = await sClient(proxy.port, pki.client);
  t.match(good, /^HTTP\/1\.1 200 OK/, 'a certificate from the trusted CA is served');
  const seen = JSON.parse(good.slice(good.indexOf('\r\n\r\n') + 4)) as SeenRequest;
  const xfcc = String(seen.headers['x-forwarded-client-cert']);
  t.match(xfcc, /^Hash=[0-9a-f]{64};Subject="CN=good-client,O=podkit tests";DNS="good\.client\.test"$/);
  t.notMatch(xfcc, /forged/, "the client's own X-Forwarded-Client-Cert was replaced");

  const unknown = await sClient(proxy.port, pki.stranger);
  t.match(unknown, /^HTTP\/1\.1 403 Forbidden/, 'a certificate from another CA is refused');
  t.match(unknown, /"code":"PODKIT_ERR_CLIENT_CERT"/);
  t.match(unknown, /the client certificate was not accepted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to/i);

  const missing = await sClient(proxy.port);
  t.match(missing, /^HTTP\/1\.1 403 Forbidden/, 'no certificate is refused');
  t.match(missing, /a client certificate is required/);

  const viaCurl = await run('curl', [
    '-sS',
    '--cacert',
    pki.caFile,
    '--http2',
    '--cert',
    pki.client.cert,
    '--key',
    pki.client.key,
    `${proxy.url}/echo`,
  ]);
  t.match(JSON.parse(viaCurl.stdout).headers['x-forwarded-client-cert'], /CN=good-client/, 'over HTTP/2 too');

  const text = await metrics(proxy);
  t.equal(
    metricValue(text, 'podkit_tls_proxy_tls_handshake_failures_total{reason="client_cert_unverified"}'),
    1,
  );
  t.equal(
    metricValue(text, 'podkit_tls_proxy_tls_handshake_failures_total{reason="client_cert_missing"}'),
    1,
  );
  t.equal(
    upstream.seen.filter((r) => r.headers['x-forwarded-client-cert'] === undefined).length,
    0,
    'nothing unauthenticated reached the upstream',
  );
});

t.test(
  '--client-auth request: anonymous clients pass without an identity; --allow-subject limits who may',
  async (t) => {
    const proxy = await startProxy(t, pki, upstream.url, [
      '--client-auth',
      'request',
      '--client-ca-file',
      pki.caFile,
    ]);
    const anonymous = await sClient(proxy.port);
    t.match(anonymous, /^HTTP\/1\.1 200 OK/);
    t.notMatch(anonymous, /x-forwarded-client-cert/i, 'no identity, and the forged one is gone');
    const identified = await sClient(proxy.port, pki.client);
    t.match(identified, /"x-forwarded-client-cert":"Hash=/);

    const strict = await startProxy(t, pki, upstream.url, [
      '--client-auth',
      'require',
      '--client-ca-file',
      pki.caFile,
      '--allow-subject',
      'cn:someone-else,dns:good.client.test',
    ]);
    t.match(await sClient(strict.port, pki.client), /^HTTP\/1\.1 200 OK/, 'allowed by its DNS SAN');
    const closed = await startProxy(t, pki, upstream.url, [
      '--client-auth',
      'require',
      '--client-ca-file',
      pki.caFile,
      '--allow-subject',
      'cn:someone-else',
    ]);
    const denied = await sClient(closed.port, pki.client);
    t.match(denied, /^HTTP\/1\.1 403 Forbidden/);
    t.match(denied, /the client certificate identity is not allowed/);
    t.equal(
      metricValue(
        await metrics(closed),
        'podkit_tls_proxy_tls_handshake_failures_total{reason="client_cert_denied"}',
      ),
      1,
    );
  },
);

t.test(
  'rate limit: 429 with Retry-After, X-RateLimit-* on every response, a higher limit only for verified identities',
  async (t) => {
    // Slow refill (one token per 10 s, 2 s when authenticated): the counts below cannot depend on how
    // fast a busy machine gets through the requests (Retry-After, the wait for the next token, shrinks
    // by a second per second they take).
    const proxy = await startProxy(t, pki, upstream.url, [
      '--rate-limit',
      '0.1',
      '--rate-limit-burst',
      '3',
      '--rate-limit-authenticated',
      '0.5',
      '--client-auth',
      'request',
      '--client-ca-file',
      pki.caFile,
    ]);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await httpsRequest(`${proxy.url}/echo`, pki));
    t.same(
      answers.map((a) => a.status),
      [200, 200, 200, 429, 429],
      'the burst of 3 is served, then refused',
    );
    t.same(
      answers.map((a) => a.headers['x-ratelimit-remaining']),
      ['2', '1', '0', '0', '0'],
    );
    for (const answer of answers) t.equal(answer.headers['x-ratelimit-limit'], '3');
    const refused = answers[3];
    const retryAfter = Number(refused?.headers['retry-after']);
    t.ok(
      retryAfter >= 8 && retryAfter <= 10,
      `Retry-After ${retryAfter}: a token is back within 10 s at 0.1/s`,
    );
    t.ok(Number(refused?.headers['x-ratelimit-reset']) >= 1);
    t.same(JSON.parse(refused?.body ?? '{}'), {
      error: 'too many requests',
      code: 'PODKIT_ERR_RATE_LIMITED',
    });

    const madeUp = await httpsRequest(`${proxy.url}/echo`, pki, {
      headers: { authorization: 'Bearer made-up' },
    });
    t.equal(madeUp.status, 429, 'a made-up Authorization header does not buy a second bucket');
    t.equal(madeUp.headers['x-ratelimit-limit'], '3');

    // At once, so that refill (0.5/s) during the burst adds at most a token or two.
    const authenticated = await Promise.all(
      Array.from({ length: 24 }, () => httpsRequest(`${proxy.url}/echo`, pki, { client: pki.client })),
    );
    const served = authenticated.filter((a) => a.status === 200).length;
    t.ok(
      served >= 15 && served <= 18,
      `a verified client certificate gets its own bucket of 15 (${served} of 24 served)`,
    );
    t.equal(authenticated[0]?.headers['x-ratelimit-limit'], '15');
    t.equal(
      metricValue(await metrics(proxy), 'podkit_tls_proxy_rate_limited_requests_total'),
      2 + 1 + (24 - served),
    );
  },
);
