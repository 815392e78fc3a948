/**
 * Client identity against forgery, with real certificates and a real process: typed --allow-subject
 * rules (a CN spelled like a SPIFFE URI does not pass a uri: rule), the option refused without
 * --client-auth require or without a type, and XFCC values quoted so a hostile SAN cannot add a field
 * (a DNS SAN outside the hostname set is refused with 403 before anything reaches the upstream).
 */

import t from 'tap';
import { writeCert } from '../../../test/support/certs.js';
import { runPodkit } from '../../../test/support/process.js';
import {
  httpsRequest,
  makePki,
  metrics,
  metricValue,
  type SeenRequest,
  startProxy,
  startUpstream,
} from './helpers.js';

const pki = await makePki();
const upstream = await startUpstream(t);
const mtls = ['--client-auth', 'require', '--client-ca-file', pki.caFile];

// The CN is spelled like the SPIFFE ID that the real workload has as a URI SAN.
const spoofer = await writeCert(
  pki.dir,
  'spoofer',
  await pki.ca.issue({ commonName: 'spiffe://podkit/ns/prod/sa/admin', altNames: [], usage: 'client' }),
);
const admin = await writeCert(
  pki.dir,
  'admin',
  await pki.ca.issue({
    commonName: 'admin-workload',
    altNames: ['uri:spiffe://podkit/ns/prod/sa/admin', 'dns:admin.prod.svc', 'uri:spiffe://podkit/a;b=c,"d"'],
    usage: 'client',
  }),
);
const injector = await writeCert(
  pki.dir,
  'injector',
  await pki.ca.issue({
    commonName: 'injector',
    altNames: ['dns:ok.example;URI=spiffe://podkit/ns/prod/sa/admin'],
    usage: 'client',
  }),
);

t.test('uri: matches URI SANs only, cn: the CN only', async (t) => {
  const byUri = await startProxy(t, pki, upstream.url, [
    ...mtls,
    '--allow-subject',
    'uri:spiffe://podkit/ns/prod/sa/admin',
  ]);
  const spoofed = await httpsRequest(`${byUri.url}/echo`, pki, { client: spoofer });
  t.equal(spoofed.status, 403, 'a CN spelled like the SPIFFE URI does not pass a uri: rule');
  t.match(spoofed.body, /the client certificate identity is not allowed/);
  t.equal((await httpsRequest(`${byUri.url}/echo`, pki, { client: admin })).status, 200, 'the URI SAN does');

  const byCn = await startProxy(t, pki, upstream.url, [
    ...mtls,
    '--allow-subject',
    'cn:spiffe://podkit/ns/prod/sa/admin,dns:ADMIN.prod.svc',
  ]);
  t.equal(
    (await httpsRequest(`${byCn.url}/echo`, pki, { client: spoofer })).status,
    200,
    'cn: matches the CN',
  );
  t.equal(
    (await httpsRequest(`${byCn.url}/echo`, pki, { client: admin })).status,
    200,
    'dns: matches a DNS SAN, case-insensitively',
  );
  t.equal((await httpsRequest(`${byCn.url}/echo`, pki, { client: pki.client })).status, 403);
});

t.test('XFCC: every certificate value quoted, a hostile DNS SAN refused', async (t) => {
  const proxy = await startProxy(t, pki, upstream.url, mtls);
  const served = await httpsRequest(`${proxy.url}/echo`, pki, { client: admin });
  t.equal(served.status, 200);
  const xfcc = String((JSON.parse(served.body) as SeenRequest).headers['x-forwarded-client-cert']);
  t.match(
    xfcc,
    /^Hash=[0-9a-f]{64};Subject="CN=admin-workload,O=podkit tests";URI="spiffe:\/\/podkit\/ns\/prod\/sa\/admin";URI="spiffe:\/\/podkit\/a;b=c,\\"d\\"";DNS="admin\.prod\.svc"$/,
  );
  t.same(
    parseXfcc(xfcc).map(([key]) => key),
    ['Hash', 'Subject', 'URI', 'URI', 'DNS'],
    'a URI SAN with ; , = and quotes stays one field',
  );

  const before = upstream.seen.length;
  const injected = await httpsRequest(`${proxy.url}/echo`, pki, { client: injector });
  t.equal(injected.status, 403, 'a DNS SAN with ; and = is refused');
  t.match(injected.body, /a DNS name with characters outside the hostname set/);
  t.match(injected.body, /PODKIT_ERR_CLIENT_CERT/);
  t.equal(upstream.seen.length, before, 'nothing reached the upstream');
  t.equal(
    metricValue(
      await metrics(proxy),
      'podkit_tls_proxy_tls_handshake_failures_total{reason="client_cert_denied"}',
    ),
    1,
  );
});

t.test(
  '--allow-subject: refused (exit 2, one line) without a type or without --client-auth require',
  async (t) => {
    const base = ['tls-proxy', '--cert-file', pki.server.chain, '--key-file', pki.server.key];
    const cases: [string[], RegExp][] = [
      [
        [...mtls, '--allow-subject', 'good-client'],
        /--allow-subject "good-client" needs a type: cn:, dns:, uri:, email: or ip: \(e\.g\. cn:good-client\)/,
      ],
      [
        ['--client-auth', 'request', '--client-ca-file', pki.caFile, '--allow-subject', 'cn:good-client'],
        /--allow-subject needs --client-auth require/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runPodkit([...base, ...args]);
      t.equal(result.code, 2, args.join(' '));
      t.match(result.stderr, message);
      t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
    }
  },
);

/** Envoy's XFCC grammar for one element: `key=value` pairs split on `;` outside quotes. */
function parseXfcc(value: string): [string, string][] {
  const pairs: [string, string][] = [];
  const pattern = /([A-Za-z]+)=("(?:[^"\\]|\\.)*"|[^;,]*)(?:;|$)/gy;
  for (const match of value.matchAll(pattern)) pairs.push([match[1] as string, match[2] as string]);
  return pairs;
}
