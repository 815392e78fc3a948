/**
 * Reading a PROXY protocol header (haproxy's proxy-protocol.txt, v1 text §2.1 and v2 binary §2.2) that a
 * load balancer sends before the client's first byte. Pure: given the bytes received so far it answers
 * the header, "need more bytes" or an error, never throws, and never looks past its bound, so a client
 * cannot make the listener buffer more than that before it is refused.
 */

import { isIPv4, isIPv6 } from 'node:net';
import type { ConnectionAddresses } from './proxy-protocol.js';

/** v1 headers are at most 107 bytes, CRLF included (§2.1). */
export const maxV1HeaderBytes = 107;
/** The v2 addresses and TLVs a load balancer sends fit easily; a longer header is refused. */
export const maxV2PayloadBytes = 4096;

export type ProxyHeaderResult =
  /** `length` bytes of header; `addresses` undefined for LOCAL, UNKNOWN and non-TCP families. */
  | { kind: 'header'; length: number; addresses: ConnectionAddresses | undefined }
  | { kind: 'more' }
  | { kind: 'error'; message: string };

const v2Signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const v1Prefix = Buffer.from('PROXY ', 'latin1');
const more: ProxyHeaderResult = { kind: 'more' };

export function parseProxyHeader(bytes: Uint8Array): ProxyHeaderResult {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length === 0) return more;
  if (startsLike(buffer, v2Signature)) return buffer.length < 16 ? more : parseV2(buffer);
  if (startsLike(buffer, v1Prefix)) return buffer.length < v1Prefix.length ? more : parseV1(buffer);
  return error('the connection does not start with a PROXY protocol header');
}

/** True when the bytes so far agree with `prefix` (as far as either goes). */
function startsLike(buffer: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buffer.length, prefix.length);
  return buffer.subarray(0, n).equals(prefix.subarray(0, n));
}

function error(message: string): ProxyHeaderResult {
  return { kind: 'error', message };
}

// An address is up to 45 characters, what inet_pton reads (`0000:...:0000:255.255.255.255`); a sender writes
// at most 39 (inet_ntop), and the 107-byte line bound above holds either way.
const v1Line =
  /^PROXY (?:UNKNOWN(?: [\x21-\x7e]+)*|(TCP4|TCP6) ([0-9A-Fa-f:.]{1,45}) ([0-9A-Fa-f:.]{1,45}) (\d{1,5}) (\d{1,5}))$/;

function parseV1(buffer: Buffer): ProxyHeaderResult {
  const window = buffer.subarray(0, maxV1HeaderBytes);
  const end = window.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    return buffer.length >= maxV1HeaderBytes
      ? error(`PROXY v1 header without CRLF in its first ${maxV1HeaderBytes} bytes`)
      : more;
  }
  const line = window.toString('latin1', 0, end);
  const m = v1Line.exec(line);
  if (!m) return error('malformed PROXY v1 header');
  const length = end + 2;
  if (m[1] === undefined) return { kind: 'header', length, addresses: undefined };
  const [family, source, destination] = [m[1], m[2] as string, m[3] as string];
  const isFamily = family === 'TCP4' ? isIPv4 : isIPv6;
  if (!isFamily(source) || !isFamily(destination))
    return error(`PROXY v1 ${family} header with a bad address`);
  const sourcePort = port(m[4] as string);
  const destinationPort = port(m[5] as string);
  if (sourcePort === undefined || destinationPort === undefined)
    return error('PROXY v1 header with a bad port');
  return {
    kind: 'header',
    length,
    addresses: { sourceAddress: source, sourcePort, destinationAddress: destination, destinationPort },
  };
}

/** 0-65535 without leading zeros (§2.1). */
function port(text: string): number | undefined {
  const value = Number(text);
  return value <= 65535 && (text === '0' || !text.startsWith('0')) ? value : undefined;
}

const TCP4 = 0x11;
const TCP6 = 0x21;
/** Families the spec defines (UNSPEC, TCP/UDP over IPv4 and IPv6, UNIX stream and datagram). */
const knownFamilies = new Set([0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32]);

function parseV2(buffer: Buffer): ProxyHeaderResult {
  const versionCommand = buffer[12] as number;
  if (versionCommand >> 4 !== 2) return error('PROXY v2 header with an unknown version');
  const command = versionCommand & 0x0f;
  if (command > 1) return error('PROXY v2 header with an unknown command');
  const family = buffer[13] as number;
  if (!knownFamilies.has(family)) return error('PROXY v2 header with an unknown address family');
  const payload = buffer.readUInt16BE(14);
  if (payload > maxV2PayloadBytes) {
    return error(`PROXY v2 header longer than ${maxV2PayloadBytes} bytes of addresses and TLVs`);
  }
  const length = 16 + payload;
  if (buffer.length < length) return more;
  // LOCAL: the load balancer's own connection (a health check); the socket's addresses stand.
  if (command === 0) return { kind: 'header', length, addresses: undefined };
  if (family === TCP4) {
    if (payload < 12) return error('PROXY v2 TCP4 header too short for its addresses');
    return {
      kind: 'header',
      length,
      addresses: {
        sourceAddress: buffer.subarray(16, 20).join('.'),
        destinationAddress: buffer.subarray(20, 24).join('.'),
        sourcePort: buffer.readUInt16BE(24),
        destinationPort: buffer.readUInt16BE(26),
      },
    };
  }
  if (family === TCP6) {
    if (payload < 36) return error('PROXY v2 TCP6 header too short for its addresses');
    return {
      kind: 'header',
      length,
      addresses: {
        sourceAddress: ipv6Text(buffer.subarray(16, 32)),
        destinationAddress: ipv6Text(buffer.subarray(32, 48)),
        sourcePort: buffer.readUInt16BE(48),
        destinationPort: buffer.readUInt16BE(50),
      },
    };
  }
  // UNSPEC, UDP or UNIX: nothing a TCP client address can be taken from (§2.2: use the socket's).
  return { kind: 'header', length, addresses: undefined };
}

/** RFC 5952 text: lower case, the longest run of two or more zero groups as `::`, mapped IPv4 dotted. */
function ipv6Text(bytes: Buffer): string {
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.subarray(12, 16).join('.')}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(':');
  if (best.length < 2) return hex(groups);
  return `${hex(groups.slice(0, best.start))}::${hex(groups.slice(best.start + best.length))}`;
}
