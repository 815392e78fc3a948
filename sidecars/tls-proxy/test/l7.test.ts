/**
 * l7 as a real process with real clients: curl (HTTP/1.1, HTTP/2, --cacert), node's https client, a
 * WebSocket client, openssl s_client, and raw sockets for what well-behaved clients never send.
 */

import { readFileSync } from 'node:fs';
import t from 'tap';
import WebSocket from 'ws';
import { freePort } from '../../../test/support/ports.js';
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

const pki = await makePki();
const upstream = await startUpstream(t);
const proxy = await startProxy(t, pki, upstream.url, [
  '--hsts-max-age',
  '31536000',
  '--upstream-timeout',
  '1s',
]);

t.test('curl over HTTP/1.1 and HTTP/2 with --cacert: the upstream answers through the proxy', async (t) => {
  for (const version of ['--http1.1', '--http2']) {
    const result = await run('curl', [
      '-sS',
      '--cacert',
      pki.caFile,
      version,
      '-D',
      '-',
      '-o',
      '-',
      `${proxy.url}/echo?via=curl`,
    ]);
    t.equal(result.code, 0, `curl ${version} exit 0 (${result.stderr})`);
    const [head, body] = result.stdout.split('\r\n\r\n') as [string, string];
    t.match(head, version === '--http2' ? /^HTTP\/2 200/ : /^HTTP\/1\.1 200/, `${version} status line`);
    t.match(head, /strict-transport-security: max-age=31536000/i, 'HSTS on every response');
    const seen = JSON.parse(body) as SeenRequest;
    t.equal(seen.url, '/echo?via=curl');
    t.equal(seen.headers['x-forwarded-proto'], 'https');
    t.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    t.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${proxy.port}`);
    t.equal(seen.headers.host, `127.0.0.1:${proxy.port}`, 'the client Host reaches the upstream');
    t.equal(seen.headers.forwarded, `for=127.0.0.1;proto=https;host="127.0.0.1:${proxy.port}"`);
  }
});

t.test(
  'forwarded headers: X-Forwarded-For appended, spoofed client-cert and proto replaced, hop-by-hop dropped',
  async (t) => {
    const response = await httpsRequest(`${proxy.url}/echo`, pki, {
      headers: {
        'x-forwarded-for': '198.51.100.4',
        'x-forwarded-proto': 'http',
        'x-forwarded-client-cert': 'Hash=forged;Subject="CN=admin"',
        connection: 'keep-alive, x-private',
        'x-private': 'do not forward',
        'x-kept': 'forwarded',
      },
    });
    const seen = JSON.parse(response.body) as SeenRequest;
    t.equal(seen.headers['x-forwarded-for'], '198.51.100.4, 127.0.0.1');
    t.equal(seen.headers['x-forwarded-proto'], 'https');
    t.notOk('x-forwarded-client-cert' in seen.headers, 'a client cannot claim a certificate identity');
    t.notOk('x-private' in seen.headers, 'fields named in Connection are hop-by-hop');
    t.equal(seen.headers['x-kept'], 'forwarded');

    const hop = await httpsRequest(`${proxy.url}/hop`, pki);
    t.equal(hop.status, 200);
    t.notOk('x-secret-hop' in hop.headers, 'response fields named in Connection are dropped');
    t.equal(hop.headers['x-kept'], 'yes');
  },
);

t.test('request bodies and large responses stream through', async (t) => {
  const body = 'b'.repeat(300_000);
  const posted = await httpsRequest(`${proxy.url}/echo`, pki, {
    method: 'POST',
    body,
    headers: { 'content-type': 'text/plain' },
  });
  const seen = JSON.parse(posted.body) as SeenRequest;
  t.equal(seen.method, 'POST');
  t.equal(seen.body.length, body.length, 'the whole body arrived');
  const chunked = await run(
    'curl',
    [
      '-sS',
      '--cacert',
      pki.caFile,
      '--http1.1',
      '-H',
      'Transfer-Encoding: chunked',
      '--data-binary',
      '@-',
      `${proxy.url}/echo`,
    ],
    'chunked body',
  );
  t.equal((JSON.parse(chunked.stdout) as SeenRequest).body, 'chunked body');
  const h2post = await run(
    'curl',
    ['-sS', '--cacert', pki.caFile, '--http2', '--data-binary', '@-', `${proxy.url}/echo`],
    'over h2',
  );
  t.equal((JSON.parse(h2post.stdout) as SeenRequest).body, 'over h2');
  const big = await httpsRequest(`${proxy.url}/big?bytes=5000000`, pki);
  t.equal(big.body.length, 5_000_000);
});

t.test('a WebSocket echo through the proxy', async (t) => {
  const socket = new WebSocket(`wss://127.0.0.1:${proxy.port}/ws`, { ca: readFileSync(pki.caFile) });
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(String(data)));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  await waitFor(() => messages.length === 1, { what: 'the upstream hello' });
  t.same(
    JSON.parse(messages[0] as string),
    { hello: true, xff: '127.0.0.1' },
    'handshake carried X-Forwarded-For',
  );
  for (const text of ['one', 'two', 'x'.repeat(100_000)]) socket.send(text);
  await waitFor(() => messages.length === 4, { what: 'three echoes' });
  t.same(messages.slice(1), ['one', 'two', 'x'.repeat(100_000)]);
  socket.close();
  await new Promise((resolve) => socket.once('close', resolve));
});

t.test('openssl s_client: TLS 1.1 is refused, TLS 1.2 and 1.3 are served', async (t) => {
  const old = await run('openssl', [
    's_client',
    '-connect',
    `127.0.0.1:${proxy.port}`,
    '-tls1_1',
    '-CAfile',
    pki.caFile,
  ]);
  t.not(old.code, 0, 'the TLS 1.1 handshake fails');
  t.match(old.stdout + old.stderr, /alert protocol version|no protocols available|unsupported protocol/i);
  for (const version of ['-tls1_2', '-tls1_3']) {
    const ok = await run(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${proxy.port}`,
        version,
        '-CAfile',
        pki.caFile,
        '-servername',
        'localhost',
        '-quiet',
      ],
      'GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    t.match(ok.stdout, /^HTTP\/1\.1 200 OK/m, `${version}: served`);
  }
  const text = await metrics(proxy);
  t.ok(
    metricValue(text, 'podkit_tls_proxy_tls_handshake_failures_total{reason="protocol_version"}') >= 1,
    'counted as protocol_version',
  );
});

t.test('upstream down: 502 with a JSON body, fast; /readyz 503 until it accepts connections', async (t) => {
  const port = await freePort();
  const lonely = await startProxy(t, pki, `http://127.0.0.1:${port}`, [], { ready: false });
  const readyz = await fetch(`${lonely.adminUrl}/readyz`);
  t.equal(readyz.status, 503, 'not ready while the upstream refuses connections');
  t.match(await readyz.text(), /"upstream":\{"ok":false/);
  const started = Date.now();
  const response = await httpsRequest(`${lonely.url}/`, pki);
  t.equal(response.status, 502);
  t.ok(Date.now() - started < 1000, 'answered at once');
  t.same(JSON.parse(response.body), {
    error: 'upstream unavailable (ECONNREFUSED)',
    code: 'PODKIT_ERR_UPSTREAM',
  });
  t.equal(metricValue(await metrics(lonely), 'podkit_tls_proxy_upstream_errors_total{reason="connect"}'), 1);

  const late = await startUpstream(t, port);
  await waitFor(async () => (await fetch(`${lonely.adminUrl}/readyz`)).status === 200, {
    what: 'ready once the upstream is up',
  });
  t.equal((await httpsRequest(`${lonely.url}/echo`, pki)).status, 200);

  await late.close();
  const down = await httpsRequest(`${lonely.url}/echo`, pki);
  t.equal(down.status, 502);
  await waitFor(async () => (await fetch(`${lonely.adminUrl}/readyz`)).status === 503, {
    what: 'not ready again',
  });
});

t.test('upstream slower than --upstream-timeout: 504 with a JSON body', async (t) => {
  const started = Date.now();
  const response = await httpsRequest(`${proxy.url}/slow?ms=3000`, pki);
  const took = Date.now() - started;
  t.equal(response.status, 504);
  t.ok(took >= 900 && took < 2500, `after the 1 s timeout (${took} ms)`);
  t.same(JSON.parse(response.body), {
    error: 'upstream did not answer within 1000 ms',
    code: 'PODKIT_ERR_UPSTREAM_TIMEOUT',
  });
  t.match(response.headers['strict-transport-security'], /max-age=31536000/);
});

t.test('--redirect-listen sends plain HTTP to https', async (t) => {
  const redirecting = await startProxy(t, pki, upstream.url, [
    '--redirect-listen',
    '127.0.0.1:0',
    '--redirect-https-port',
    '8443',
  ]);
  const address = await redirecting.address('redirect');
  const get = await run('curl', ['-sS', '-i', '-H', 'Host: app.example', `http://${address}/a?b=1`]);
  t.match(get.stdout, /^HTTP\/1\.1 301 Moved Permanently/);
  t.match(get.stdout, /location: https:\/\/app\.example:8443\/a\?b=1/i);
  const post = await run('curl', [
    '-sS',
    '-i',
    '-X',
    'POST',
    '-H',
    'Host: app.example',
    `http://${address}/form`,
  ]);
  t.match(post.stdout, /^HTTP\/1\.1 308 Permanent Redirect/);
});

t.test(
  'metrics: requests by class, latency, connections, certificate expiry; promtool accepts them',
  async (t) => {
    const before = await metrics(proxy);
    // Two 400s of the proxy's own: plain HTTP on the TLS port, and a target that is not a path.
    await run('curl', ['-sS', `http://127.0.0.1:${proxy.port}/`]);
    await run('curl', [
      '-sS',
      '--http1.1',
      '--cacert',
      pki.caFile,
      '--request-target',
      'nowhere',
      `${proxy.url}/`,
    ]);
    const text = await metrics(proxy);
    t.ok(metricValue(text, 'podkit_tls_proxy_requests_total{status_class="2xx"}') >= 10);
    t.equal(
      metricValue(text, 'podkit_tls_proxy_requests_total{status_class="4xx"}') -
        metricValue(before, 'podkit_tls_proxy_requests_total{status_class="4xx"}'),
      2,
      'both 400s counted as 4xx',
    );
    t.ok(
      metricValue(text, 'podkit_tls_proxy_requests_total{status_class="5xx"}') >= 1,
      'the 504 was counted',
    );
    t.ok(metricValue(text, 'podkit_tls_proxy_request_duration_seconds_count') >= 10);
    t.ok(metricValue(text, 'podkit_tls_proxy_active_connections') >= 0);
    t.equal(metricValue(text, 'podkit_tls_proxy_tls_handshake_failures_total{reason="plain_http"}'), 1);
    const expiry = metricValue(text, 'podkit_tls_proxy_certificate_expiry_seconds');
    t.ok(expiry > 6 * 86_400 && expiry <= 7 * 86_400, `about 7 days left (${expiry} s)`);
    const lint = await run('promtool', ['check', 'metrics'], text);
    t.equal(lint.code, 0, lint.stdout + lint.stderr);
    t.equal((lint.stdout + lint.stderr).trim(), '', 'no lint findings');
  },
);

t.test('bad configuration exits 2 naming the option before anything listens', async (t) => {
  const { runPodkit } = await import('../../../test/support/process.js');
  const cases: [string[], RegExp][] = [
    [
      ['--cert-file', pki.client.cert, '--key-file', pki.server.key],
      /^podkit tls-proxy: --key-file .*server\.key: the private key does not belong to the certificate in .*client\.crt$/m,
    ],
    [
      ['--cert-file', pki.caFile.replace('ca.crt', 'server.key'), '--key-file', pki.server.key],
      /--cert-file .*server\.key: no PEM certificate found/,
    ],
    [
      ['--cert-file', '/nonexistent.crt', '--key-file', pki.server.key],
      /invalid --cert-file "\/nonexistent\.crt": expected a readable file \(no such file\)/,
    ],
    [
      ['--cert-file', pki.server.chain, '--key-file', pki.server.key, '--upstream', 'http://192.0.2.10:80'],
      /not a loopback address/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runPodkit([
      'tls-proxy',
      '--admin-address',
      '127.0.0.1:0',
      '--listen',
      '127.0.0.1:0',
      '--termination-log',
      '/dev/null',
      ...args,
    ]);
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, message);
  }
});
