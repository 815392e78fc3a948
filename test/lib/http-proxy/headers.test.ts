/**
 * Header rewriting, table-driven: hop-by-hop fields dropped both ways, forwarded headers appended or
 * replaced, the client certificate passed on only when the caller verified one.
 */

import t from 'tap';
import {
  clientAddressOf,
  clientResponseHeaders,
  upstreamRequestHead,
} from '../../../lib/http-proxy/headers.js';

t.test(
  'request headers: hop-by-hop dropped, forwarded headers appended or replaced, XFCC only from mTLS',
  async (t) => {
    const head = upstreamRequestHead(
      [
        'Host',
        'app.example',
        'Connection',
        'keep-alive, X-Custom-Hop',
        'X-Custom-Hop',
        'bye',
        'Keep-Alive',
        'timeout=5',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Proxy-Connection',
        'keep-alive',
        'X-Forwarded-For',
        '203.0.113.7',
        'X-Forwarded-Proto',
        'http',
        'X-Forwarded-Host',
        'evil.example',
        'X-Forwarded-Client-Cert',
        'Hash=forged',
        'Forwarded',
        'for=203.0.113.7',
        'Authorization',
        'Bearer x',
        'Accept',
        'text/plain',
        'Expect',
        '100-continue',
      ],
      { clientAddress: '10.0.0.9', proto: 'https', clientCert: undefined },
    );
    const pairs = toPairs(head.headers);
    t.same(pairs, [
      ['Authorization', 'Bearer x'],
      ['Accept', 'text/plain'],
      ['host', 'app.example'],
      ['x-forwarded-for', '203.0.113.7, 10.0.0.9'],
      ['x-real-ip', '10.0.0.9'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'app.example'],
      ['forwarded', 'for=203.0.113.7, for=10.0.0.9;proto=https;host=app.example'],
    ]);
    t.equal(head.host, 'app.example');
    t.equal(head.hasAuthorization, true);
    t.equal(head.declaresBody, false);

    const h2 = upstreamRequestHead(
      [
        ':method',
        'POST',
        ':path',
        '/x',
        ':authority',
        'localhost:8443',
        ':scheme',
        'https',
        'content-length',
        '5',
      ],
      { clientAddress: '::1', proto: 'https', clientCert: 'Hash=abc;Subject="CN=c"' },
    );
    t.same(toPairs(h2.headers), [
      ['content-length', '5'],
      ['host', 'localhost:8443'],
      ['x-forwarded-for', '::1'],
      ['x-real-ip', '::1'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'localhost:8443'],
      ['forwarded', 'for="[::1]";proto=https;host="localhost:8443"'],
      ['x-forwarded-client-cert', 'Hash=abc;Subject="CN=c"'],
    ]);
    t.equal(h2.declaresBody, true);
    t.equal(
      upstreamRequestHead(['Transfer-Encoding', 'chunked'], {
        clientAddress: 'a',
        proto: 'https',
        clientCert: undefined,
      }).declaresBody,
      true,
    );
    t.equal(
      upstreamRequestHead(['Content-Length', '0'], {
        clientAddress: 'a',
        proto: 'https',
        clientCert: undefined,
      }).declaresBody,
      false,
    );
  },
);

t.test('response headers: hop-by-hop and Connection-named fields dropped, extras appended', async (t) => {
  const raw = [
    'Content-Type',
    'text/plain',
    'Connection',
    'close, X-Hop',
    'X-Hop',
    '1',
    'Transfer-Encoding',
    'chunked',
    'Set-Cookie',
    'a=1',
    'Set-Cookie',
    'b=2',
  ].map((s) => Buffer.from(s));
  t.same(toPairs(clientResponseHeaders(raw, ['strict-transport-security', 'max-age=60'])), [
    ['Content-Type', 'text/plain'],
    ['Set-Cookie', 'a=1'],
    ['Set-Cookie', 'b=2'],
    ['strict-transport-security', 'max-age=60'],
  ]);
});

t.test('a plain listener says http; client addresses as X-Forwarded-For writes them', async (t) => {
  const head = upstreamRequestHead(['Host', 'localhost:8000', 'X-Forwarded-Proto', 'https'], {
    clientAddress: '127.0.0.1',
    proto: 'http',
    clientCert: undefined,
  });
  t.same(toPairs(head.headers), [
    ['host', 'localhost:8000'],
    ['x-forwarded-for', '127.0.0.1'],
    ['x-real-ip', '127.0.0.1'],
    ['x-forwarded-proto', 'http'],
    ['x-forwarded-host', 'localhost:8000'],
    ['forwarded', 'for=127.0.0.1;proto=http;host="localhost:8000"'],
  ]);
  t.equal(clientAddressOf('::ffff:10.1.2.3'), '10.1.2.3', 'IPv4-mapped IPv6 shown as IPv4');
  t.equal(clientAddressOf('2001:db8::1'), '2001:db8::1');
  t.equal(clientAddressOf(undefined), 'unknown');
});

t.test(
  'hostFromOrigin: the client’s Host is left out for the pool to write its own, kept as X-Forwarded-Host',
  async (t) => {
    const head = upstreamRequestHead(['Host', 'localhost:8000', 'Accept', '*/*'], {
      clientAddress: '127.0.0.1',
      proto: 'http',
      clientCert: undefined,
      hostFromOrigin: true,
    });
    t.same(toPairs(head.headers), [
      ['Accept', '*/*'],
      ['x-forwarded-for', '127.0.0.1'],
      ['x-real-ip', '127.0.0.1'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'localhost:8000'],
      ['forwarded', 'for=127.0.0.1;proto=http;host="localhost:8000"'],
    ]);
    t.equal(head.host, 'localhost:8000', 'the client’s Host is still reported to the caller');
  },
);

t.test('names with an underscore: dropped by default, kept with allow, reported with reject', async (t) => {
  const raw = [
    'Host',
    'app.example',
    'X_Forwarded_Client_Cert',
    'Subject="CN=admin"',
    'X-Auth_User',
    'admin',
    'Accept',
    '*/*',
  ];
  const info = { clientAddress: '10.0.0.9', proto: 'https' as const, clientCert: undefined };
  const dropped = upstreamRequestHead(raw, info);
  t.notOk(
    toPairs(dropped.headers).some(([name]) => name.includes('_')),
    'no underscore name reaches the upstream by default',
  );
  t.ok(
    toPairs(dropped.headers).some(([name]) => name === 'Accept'),
    'other headers are kept',
  );
  t.equal(dropped.underscoreHeader, undefined, 'drop does not refuse the request');

  const allowed = upstreamRequestHead(raw, { ...info, underscores: 'allow' });
  t.same(
    toPairs(allowed.headers).filter(([name]) => name.includes('_')),
    [
      ['X_Forwarded_Client_Cert', 'Subject="CN=admin"'],
      ['X-Auth_User', 'admin'],
    ],
    'allow passes them as sent',
  );

  const rejected = upstreamRequestHead(raw, { ...info, underscores: 'reject' });
  t.equal(rejected.underscoreHeader, 'X_Forwarded_Client_Cert', 'reject names the first one');
});

t.test('X-Real-IP is the socket address; --xff replace keeps nothing the client said', async (t) => {
  const raw = [
    'Host',
    'app.example',
    'X-Real-IP',
    '1.2.3.4',
    'X-Forwarded-For',
    '203.0.113.7',
    'Forwarded',
    'for=203.0.113.7',
  ];
  const info = { clientAddress: '10.0.0.9', proto: 'https' as const, clientCert: undefined };
  const appended = toPairs(upstreamRequestHead(raw, info).headers);
  t.same(
    appended.filter(([name]) => name.toLowerCase() === 'x-real-ip'),
    [['x-real-ip', '10.0.0.9']],
    "the client's X-Real-IP is replaced",
  );
  t.same(
    appended.find(([name]) => name === 'x-forwarded-for'),
    ['x-forwarded-for', '203.0.113.7, 10.0.0.9'],
  );

  const replaced = toPairs(upstreamRequestHead(raw, { ...info, forwardedFor: 'replace' }).headers);
  t.same(
    replaced.find(([name]) => name === 'x-forwarded-for'),
    ['x-forwarded-for', '10.0.0.9'],
  );
  t.same(
    replaced.find(([name]) => name === 'forwarded'),
    ['forwarded', 'for=10.0.0.9;proto=https;host=app.example'],
  );
});

function toPairs(flat: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i] as string, flat[i + 1] as string]);
  return pairs;
}
