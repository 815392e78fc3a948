/**
 * The pure parts, table-driven: token buckets, PROXY v2 encoding, client identity, cross-option checks,
 * redirect locations, and certificate-set checks (header rewriting is lib/http-proxy's, tested there).
 */

import t from 'tap';
import { loadComponent } from '../../../components.js';
import { fullSpec } from '../../../lib/component.js';
import { ConfigError } from '../../../lib/errors.js';
import { parseOptions } from '../../../lib/options.js';
import { CertificateAuthority } from '../../../test/support/certs.js';
import {
  allowSubjectKeys,
  clientIdentity,
  isAllowed,
  oddDnsName,
  parseSubjectAltName,
} from '../src/client-identity.js';
import { checkOptions, isLoopback, proxyConfig, type TlsProxyOptions } from '../src/config.js';
import { proxyV2Header } from '../src/proxy-protocol.js';
import { RateLimiter } from '../src/rate-limit.js';
import { redirectLocation } from '../src/redirect.js';
import { checkTlsMaterial, TlsMaterialError } from '../src/tls-material.js';

t.test('token bucket: burst, refill, Retry-After, bounded memory', async (t) => {
  let now = 0;
  const limiter = new RateLimiter({ maxClients: 3, now: () => now });
  const limits = { rate: 2, burst: 3 };
  const taken = [1, 2, 3, 4].map(() => limiter.take('a', limits));
  t.same(
    taken.map((d) => d.allowed),
    [true, true, true, false],
  );
  t.same(
    taken.map((d) => d.remaining),
    [2, 1, 0, 0],
  );
  t.equal(taken[3]?.retryAfterSeconds, 1, 'one token comes back within a second at 2/s');
  t.equal(taken[3]?.resetSeconds, 2, 'three tokens take 1.5 s: reset rounds up to 2');
  now = 500;
  t.equal(limiter.take('a', limits).allowed, true, 'refilled one token after 500 ms');
  t.equal(limiter.take('a', limits).allowed, false);
  now = 100_000;
  t.equal(limiter.take('a', limits).remaining, 2, 'refill stops at the burst');

  for (const key of ['b', 'c', 'd', 'e']) limiter.take(key, limits);
  t.equal(limiter.size, 3, 'never more buckets than maxClients');
  const slow = new RateLimiter({ now: () => now });
  const decision = slow.take('x', { rate: 0.5, burst: 1 });
  t.equal(decision.allowed, true);
  t.equal(
    slow.take('x', { rate: 0.5, burst: 1 }).retryAfterSeconds,
    2,
    'at 0.5/s the next token is 2 s away',
  );
});

t.test('PROXY v2 header: IPv4, IPv6, mapped addresses, LOCAL when unknown', async (t) => {
  const v4 = proxyV2Header({
    sourceAddress: '192.0.2.1',
    sourcePort: 51000,
    destinationAddress: '10.1.2.3',
    destinationPort: 8443,
  });
  t.equal(
    v4.toString('hex'),
    '0d0a0d0a000d0a515549540a' + '21' + '11' + '000c' + 'c0000201' + '0a010203' + 'c738' + '20fb',
  );
  const mapped = proxyV2Header({
    sourceAddress: '::ffff:127.0.0.1',
    sourcePort: 1,
    destinationAddress: '127.0.0.1',
    destinationPort: 2,
  });
  t.equal(mapped.subarray(12, 16).toString('hex'), '2111000c', 'IPv4-mapped addresses are sent as IPv4');
  const v6 = proxyV2Header({
    sourceAddress: '2001:db8::1',
    sourcePort: 443,
    destinationAddress: '::1',
    destinationPort: 8443,
  });
  t.equal(v6.length, 16 + 36);
  t.equal(v6.subarray(12, 16).toString('hex'), '21210024');
  t.equal(v6.subarray(16, 32).toString('hex'), '20010db8000000000000000000000001');
  t.equal(v6.subarray(32, 48).toString('hex'), '00000000000000000000000000000001');
  t.equal(v6.readUInt16BE(48), 443);
  const local = proxyV2Header({
    sourceAddress: undefined,
    sourcePort: undefined,
    destinationAddress: undefined,
    destinationPort: undefined,
  });
  t.equal(local.subarray(12).toString('hex'), '20000000');
});

t.test('client identity: CN and SANs, typed allow-list, quoted XFCC value', async (t) => {
  t.same(
    parseSubjectAltName(
      'DNS:a.example, URI:spiffe://td/ns/x, IP Address:10.0.0.1, email:o@example.com, DNS:"we,ird"',
    ),
    [
      ['DNS', 'a.example'],
      ['URI', 'spiffe://td/ns/x'],
      ['IP', '10.0.0.1'],
      ['email', 'o@example.com'],
      ['DNS', 'we,ird'],
    ],
  );
  const identity = clientIdentity({
    subject: { O: 'podkit tests', CN: 'good-client' },
    subjectaltname:
      'DNS:good.client.test, URI:spiffe://podkit/good, IP Address:2001:DB8:0:0:0:0:0:1, email:Ops@Example.com',
    fingerprint256: 'AB:CD:EF',
  });
  t.equal(
    identity.header,
    'Hash=abcdef;Subject="O=podkit tests,CN=good-client";URI="spiffe://podkit/good";DNS="good.client.test"',
  );
  t.equal(
    clientIdentity({ subject: { CN: 'x' }, fingerprint256: 'AB' }, 'spiffe://td/proxy').header,
    'By="spiffe://td/proxy";Hash=ab;Subject="CN=x"',
    "the proxy's own URI SAN as By",
  );
  t.equal(
    clientIdentity({ subject: { CN: 'x' }, subjectaltname: 'URI:"spiffe://td/a;DNS=b,\\"c"' }).header,
    'Hash=;Subject="CN=x";URI="spiffe://td/a;DNS=b,\\"c"',
    'quotes and backslashes escaped inside the quotes',
  );
  const cases: [string[], boolean][] = [
    [[], true],
    [['cn:good-client'], true],
    [['uri:spiffe://podkit/good'], true],
    [['dns:GOOD.client.test', 'cn:other'], true],
    [['ip:2001:db8::1'], true],
    [['email:ops@example.com'], true],
    [['cn:someone-else'], false],
    [['cn:podkit tests'], false],
    [['dns:good-client'], false],
    [['cn:spiffe://podkit/good'], false],
    [['uri:good.client.test'], false],
  ];
  for (const [allowed, expected] of cases) {
    t.equal(
      isAllowed(identity, new Set(allowSubjectKeys(allowed))),
      expected,
      `allow ${allowed.join(',') || '(any)'}`,
    );
  }
  const spoofed = clientIdentity({ subject: { CN: 'spiffe://podkit/admin' }, fingerprint256: 'AB' });
  t.notOk(
    isAllowed(spoofed, new Set(allowSubjectKeys(['uri:spiffe://podkit/admin']))),
    'a CN spelled like a SPIFFE URI does not pass a uri: rule',
  );
  t.throws(() => allowSubjectKeys(['good-client']), /"good-client" needs a type: cn:, dns:, uri:/);
  t.throws(() => allowSubjectKeys(['spiffe://x']), /needs a type/, 'a bare URI is no type');
  t.throws(() => allowSubjectKeys(['ip:nope']), /not an IP address/);
  t.throws(() => allowSubjectKeys(['dns:']), /no name after the type/);
  t.equal(oddDnsName(identity), undefined);
  t.equal(
    oddDnsName(clientIdentity({ subjectaltname: 'DNS:ok.example, DNS:"ok.example;URI=spiffe://x/admin"' })),
    'ok.example;URI=spiffe://x/admin',
  );
  t.equal(oddDnsName(clientIdentity({ subjectaltname: 'DNS:*.svc_a.example-1' })), undefined);
});

t.test('options: cross-checks refuse contradictions before anything listens', async (t) => {
  const spec = fullSpec(await loadComponent('tls-proxy'));
  const parse = (argv: string[]) =>
    parseOptions(spec, ['--cert-file', '/etc/hostname', '--key-file', '/etc/hostname', ...argv], {})
      .values as TlsProxyOptions;
  const refused: [string[], RegExp][] = [
    [['--upstream', 'http://10.0.0.5:8080'], /--upstream host "10\.0\.0\.5" is not a loopback address/],
    [['--upstream', 'http://example.com:80'], /not a loopback address/],
    [['--upstream', 'tcp://127.0.0.1:5432'], /must be an http:\/\/ URL with --mode l7/],
    [['--upstream', 'http://127.0.0.1:8080/app'], /without a path/],
    [['--client-auth', 'require'], /--client-auth require needs --client-ca-file/],
    [['--allow-subject', 'cn:x'], /--allow-subject needs --client-auth require/],
    [
      ['--allow-subject', 'cn:x', '--client-auth', 'request', '--client-ca-file', '/etc/hostname'],
      /--allow-subject needs --client-auth require/,
    ],
    [
      ['--allow-subject', 'x', '--client-auth', 'require', '--client-ca-file', '/etc/hostname'],
      /--allow-subject "x" needs a type: cn:, dns:, uri:, email: or ip:/,
    ],
    [['--ciphers', 'NOPE'], /--ciphers "NOPE" is not a cipher list OpenSSL accepts/],
    [
      ['--mode', 'l4', '--upstream', 'tcp://127.0.0.1:5432', '--rate-limit', '5'],
      /--rate-limit needs --mode l7/,
    ],
    [['--proxy-protocol'], /--proxy-protocol needs --mode l4/],
    [
      ['--listen', '0.0.0.0:8443', '--redirect-listen', '127.0.0.1:8443'],
      /--redirect-listen must differ from --listen/,
    ],
  ];
  for (const [argv, message] of refused) {
    t.throws(() => checkOptions(parse(argv)), message, argv.join(' '));
    try {
      checkOptions(parse(argv));
    } catch (err) {
      t.type(err, ConfigError);
    }
  }
  t.doesNotThrow(() =>
    checkOptions(parse(['--upstream', 'http://10.0.0.5:8080', '--allow-remote-upstream'])),
  );
  t.doesNotThrow(() =>
    checkOptions(parse(['--mode', 'l4', '--upstream', 'tcp://[::1]:5432', '--proxy-protocol'])),
  );

  const config = proxyConfig(
    parse([
      '--rate-limit',
      '10',
      '--rate-limit-authenticated',
      '50',
      '--workers',
      '3',
      '--max-connections',
      '100',
    ]),
  );
  t.same(config.rateLimit, { rate: 10, burst: 20, authenticatedRate: 50, authenticatedBurst: 100 });
  t.equal(config.maxConnections, 34, 'the connection limit is shared among the workers');
  t.equal(config.maxConnectionsPerIp, 86, 'so is the per-address one');
  const defaults = proxyConfig(parse([]));
  t.same(
    [defaults.maxConnections, defaults.maxConnectionsPerIp],
    [1024, 256],
    'bounded by default: idle HTTP/2 sessions cost memory, and one address gets a quarter at most',
  );
  t.same(
    [
      ['127.0.0.1', true],
      ['127.8.9.10', true],
      ['::1', true],
      ['localhost', true],
      ['10.0.0.1', false],
      ['::ffff:127.0.0.1', true],
      ['app', false],
    ].map(([host]) => [host, isLoopback(host as string)]),
    [
      ['127.0.0.1', true],
      ['127.8.9.10', true],
      ['::1', true],
      ['localhost', true],
      ['10.0.0.1', false],
      ['::ffff:127.0.0.1', true],
      ['app', false],
    ],
  );
});

t.test('redirect locations', async (t) => {
  t.equal(redirectLocation('app.example:8080', '/a?b=1', 443), 'https://app.example/a?b=1');
  t.equal(redirectLocation('app.example', '/', 8443), 'https://app.example:8443/');
  t.equal(redirectLocation('[::1]:80', '/x', 443), 'https://[::1]/x');
  t.equal(redirectLocation(undefined, '/', 443), undefined);
  t.equal(redirectLocation('evil.example/@x', '/', 443), undefined, 'a Host with a path is refused');
});

t.test(
  'certificate sets: a key that does not match, garbage, or a bad CA is refused naming the file',
  async (t) => {
    const ca = await CertificateAuthority.create();
    const one = await ca.localhost();
    const two = await ca.localhost();
    const files = { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key', clientCaFile: '/tls/ca.crt' };
    const ok = checkTlsMaterial(files, one.chainPem, one.keyPem, ca.certPem);
    t.equal(ok.notAfter, one.notAfter.getTime() - (one.notAfter.getTime() % 1000));
    t.match(ok.subject, /CN=localhost/);
    const refused: [string, string, string | undefined, string, RegExp][] = [
      [one.certPem, two.keyPem, undefined, files.keyFile, /does not belong to the certificate/],
      ['not a pem', one.keyPem, undefined, files.certFile, /no PEM certificate found/],
      [one.certPem, 'nope', undefined, files.keyFile, /not a PEM private key/],
      [one.certPem, one.keyPem, 'junk', files.clientCaFile, /no PEM CA certificate found/],
    ];
    for (const [cert, key, caPem, file, message] of refused) {
      const err = t.throws(() => checkTlsMaterial(files, cert, key, caPem)) as TlsMaterialError;
      t.type(err, TlsMaterialError);
      t.equal(err.file, file);
      t.match(err.message, message);
    }
  },
);
