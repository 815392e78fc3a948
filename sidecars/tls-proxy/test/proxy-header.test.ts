/**
 * The PROXY protocol header reader (src/proxy-header.ts): any bytes give a header, "more" or an error,
 * never a throw; "more" is never answered past the bound, so what the listener buffers is bounded; what
 * proxyV2Header writes reads back as written; and each kind of bad header has its own error.
 */

import fc from 'fast-check';
import t from 'tap';
import { maxV1HeaderBytes, maxV2PayloadBytes, parseProxyHeader } from '../src/proxy-header.js';
import { type ConnectionAddresses, proxyV2Header } from '../src/proxy-protocol.js';

const runs = { numRuns: 400 };

const v4 = fc.ipV4();
const v6 = fc.ipV6();
const portNumber = fc.integer({ min: 0, max: 65535 });
const addresses = fc.oneof(
  fc.record({
    sourceAddress: v4,
    destinationAddress: v4,
    sourcePort: portNumber,
    destinationPort: portNumber,
  }),
  fc.record({
    sourceAddress: v6,
    destinationAddress: v6,
    sourcePort: portNumber,
    destinationPort: portNumber,
  }),
);
/** The v1 line a sender writes: addresses as inet_ntop prints them, so the line is within 107 bytes. */
const v1Header = ({ sourceAddress, destinationAddress, sourcePort, destinationPort }: ConnectionAddresses) =>
  Buffer.from(
    `PROXY ${sourceAddress?.includes(':') ? 'TCP6' : 'TCP4'} ${senderText(sourceAddress)} ${senderText(destinationAddress)} ${sourcePort} ${destinationPort}\r\n`,
    'latin1',
  );
const validHeader = fc.oneof(
  addresses.map(v1Header),
  addresses.map((a) => proxyV2Header(a)),
  fc.constant(Buffer.from('PROXY UNKNOWN\r\n')),
);
/** Valid headers cut short, with a byte changed, or followed by random bytes; and plain random bytes. */
const hostile = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  fc.tuple(validHeader, fc.nat()).map(([h, n]) => h.subarray(0, n % (h.length + 1))),
  fc.tuple(validHeader, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([h, at, value]) => {
    const copy = Buffer.from(h);
    copy[at % copy.length] = value;
    return copy;
  }),
  fc
    .tuple(validHeader, fc.uint8Array({ maxLength: 200 }))
    .map(([h, rest]) => Buffer.concat([h, Buffer.from(rest)])),
);

function senderText(address: string | undefined): string | undefined {
  return address?.includes(':') ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/** Canonical text of an address, so `::ffff:1.2.3.4`, `0:0::1` and `::1` compare as written. */
function canonical(address: string | undefined): string | undefined {
  return address === undefined
    ? undefined
    : new URL(`http://[${address.includes(':') ? address : `::ffff:${address}`}]/`).hostname;
}

t.test('any bytes: a header inside them, "more" below the bound, or an error; never a throw', async (t) => {
  fc.assert(
    fc.property(hostile, (bytes) => {
      const result = parseProxyHeader(bytes);
      if (result.kind === 'header') return result.length > 0 && result.length <= bytes.length;
      if (result.kind === 'more')
        return bytes.length < (bytes[0] === 0x0d ? 16 + maxV2PayloadBytes : maxV1HeaderBytes);
      return typeof result.message === 'string' && result.message.length > 0;
    }),
    runs,
  );
  t.pass('no counterexample');
});

t.test('"more" stops at the bound: a v1 line without CRLF and a v2 header announcing too much', async (t) => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom('A', '1', ' ', '.'), minLength: 200, maxLength: 300 }),
      (tail) => {
        const line = Buffer.from(`PROXY ${tail}`, 'latin1');
        for (let n = 0; n <= line.length; n++) {
          const result = parseProxyHeader(line.subarray(0, n));
          if (result.kind === 'more' && n >= maxV1HeaderBytes) return false;
        }
        return true;
      },
    ),
    { numRuns: 50 },
  );
  const huge = proxyV2Header({
    sourceAddress: '10.0.0.1',
    destinationAddress: '10.0.0.2',
    sourcePort: 1,
    destinationPort: 2,
  });
  huge.writeUInt16BE(maxV2PayloadBytes + 1, 14);
  t.match(parseProxyHeader(huge.subarray(0, 16)), { kind: 'error', message: /longer than/ });
});

t.test('a valid header split anywhere is "more" until its last byte, then the same header', async (t) => {
  fc.assert(
    fc.property(validHeader, fc.uint8Array({ maxLength: 50 }), (header, rest) => {
      for (let n = 0; n < header.length; n++)
        if (parseProxyHeader(header.subarray(0, n)).kind !== 'more') return false;
      const whole = parseProxyHeader(Buffer.concat([header, Buffer.from(rest)]));
      return whole.kind === 'header' && whole.length === header.length;
    }),
    runs,
  );
  t.pass('no counterexample');
});

t.test(
  'what proxyV2Header writes, and the v1 line of the same addresses, read back as written',
  async (t) => {
    fc.assert(
      fc.property(addresses, (a) => {
        for (const header of [proxyV2Header(a), v1Header(a)]) {
          const result = parseProxyHeader(header);
          if (result.kind !== 'header' || !result.addresses) return false;
          const got = result.addresses;
          if (canonical(got.sourceAddress) !== canonical(a.sourceAddress)) return false;
          if (canonical(got.destinationAddress) !== canonical(a.destinationAddress)) return false;
          if (got.sourcePort !== a.sourcePort || got.destinationPort !== a.destinationPort) return false;
        }
        return true;
      }),
      runs,
    );
    const local = parseProxyHeader(
      proxyV2Header({
        sourceAddress: undefined,
        destinationAddress: undefined,
        sourcePort: undefined,
        destinationPort: undefined,
      }),
    );
    t.same(local, { kind: 'header', length: 16, addresses: undefined }, 'LOCAL: the socket addresses stand');
  },
);

t.test('examples: each kind of bad header has its own error', async (t) => {
  const good = proxyV2Header({
    sourceAddress: '192.0.2.1',
    destinationAddress: '192.0.2.2',
    sourcePort: 4242,
    destinationPort: 443,
  });
  const withByte = (at: number, value: number) => {
    const copy = Buffer.from(good);
    copy[at] = value;
    return copy;
  };
  const cases: [string, Buffer, RegExp][] = [
    [
      'TLS straight away',
      Buffer.from([0x16, 0x03, 0x01, 0x00]),
      /does not start with a PROXY protocol header/,
    ],
    ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\n'), /does not start with a PROXY protocol header/],
    ['v1 without CRLF', Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), /without CRLF in its first 107 bytes/],
    ['v1 unknown family', Buffer.from('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n'), /malformed PROXY v1 header/],
    ['v1 double space', Buffer.from('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'), /malformed PROXY v1 header/],
    ['v1 bare LF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r\n'), /malformed PROXY v1 header/],
    ['v1 IPv6 under TCP4', Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n'), /TCP4 header with a bad address/],
    ['v1 bad IPv4', Buffer.from('PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n'), /TCP4 header with a bad address/],
    ['v1 port too big', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'), /bad port/],
    ['v1 port leading zero', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n'), /bad port/],
    ['v2 version 1', withByte(12, 0x11), /unknown version/],
    ['v2 command 2', withByte(12, 0x22), /unknown command/],
    ['v2 family 0x41', withByte(13, 0x41), /unknown address family/],
    [
      'v2 TCP4 too short',
      Buffer.concat([good.subarray(0, 14), Buffer.from([0, 4, 1, 2, 3, 4])]),
      /too short/,
    ],
    [
      'v2 TCP6 too short',
      Buffer.concat([withByte(13, 0x21).subarray(0, 14), Buffer.from([0, 12]), Buffer.alloc(12)]),
      /too short/,
    ],
    ['v2 signature broken', withByte(5, 0x01), /does not start with a PROXY protocol header/],
  ];
  for (const [name, bytes, message] of cases)
    t.match(parseProxyHeader(bytes), { kind: 'error', message }, name);
  t.match(
    parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')),
    { kind: 'header', addresses: undefined },
    'v1 UNKNOWN',
  );
  t.match(
    parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\nrest')),
    {
      kind: 'header',
      length: 44,
      addresses: { sourceAddress: '2001:db8::1', sourcePort: 65535, destinationPort: 0 },
    },
    'v1 TCP6, followed by the client bytes',
  );
  // CI's fast-check seed 1749882551: a 40-character address with leading zeros and a dotted quad, which
  // inet_pton reads; the line is within the bound, so it is a header.
  t.match(
    parseProxyHeader(Buffer.from('PROXY TCP6 :: 000:0000:0000:0000:00:000:10.100.100.100 0 0\r\n')),
    { kind: 'header', addresses: { destinationAddress: '000:0000:0000:0000:00:000:10.100.100.100' } },
    'v1 TCP6 with a long, non-canonical address',
  );
  t.match(
    parseProxyHeader(
      Buffer.from('PROXY TCP6 0000:0000:0000:0000:0000:ffff:255.255.255.255 ::1 65535 65535\r\n'),
    ),
    { kind: 'header', addresses: { sourceAddress: '0000:0000:0000:0000:0000:ffff:255.255.255.255' } },
    'v1 TCP6 with the longest address text inet_pton reads (45 characters)',
  );
});
