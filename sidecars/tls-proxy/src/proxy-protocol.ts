/**
 * PROXY protocol v2 (haproxy's proxy-protocol.txt §2.2): the binary header an l4 tunnel sends first, so
 * the upstream learns the real client address of a connection it sees coming from localhost.
 */

import { isIPv4, isIPv6 } from 'node:net';

const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const PROXY = 0x21; // version 2, command PROXY
const LOCAL = 0x20; // version 2, command LOCAL: no address information
const TCP4 = 0x11;
const TCP6 = 0x21;

export interface ConnectionAddresses {
  sourceAddress: string | undefined;
  sourcePort: number | undefined;
  destinationAddress: string | undefined;
  destinationPort: number | undefined;
}

export function proxyV2Header(addresses: ConnectionAddresses): Buffer {
  const { sourceAddress: src, destinationAddress: dst, sourcePort, destinationPort } = addresses;
  if (src === undefined || dst === undefined || sourcePort === undefined || destinationPort === undefined) {
    return Buffer.concat([signature, Buffer.from([LOCAL, 0x00, 0x00, 0x00])]);
  }
  const srcV4 = ipv4Of(src);
  const dstV4 = ipv4Of(dst);
  if (srcV4 && dstV4) {
    const header = Buffer.alloc(16 + 12);
    signature.copy(header, 0);
    header.writeUInt8(PROXY, 12);
    header.writeUInt8(TCP4, 13);
    header.writeUInt16BE(12, 14);
    writeIPv4(header, 16, srcV4);
    writeIPv4(header, 20, dstV4);
    header.writeUInt16BE(sourcePort, 24);
    header.writeUInt16BE(destinationPort, 26);
    return header;
  }
  const header = Buffer.alloc(16 + 36);
  signature.copy(header, 0);
  header.writeUInt8(PROXY, 12);
  header.writeUInt8(TCP6, 13);
  header.writeUInt16BE(36, 14);
  writeIPv6(header, 16, srcV4 ? `::ffff:${srcV4}` : src);
  writeIPv6(header, 32, dstV4 ? `::ffff:${dstV4}` : dst);
  header.writeUInt16BE(sourcePort, 48);
  header.writeUInt16BE(destinationPort, 50);
  return header;
}

/** The dotted IPv4 address, also from an IPv4-mapped IPv6 one; undefined otherwise. */
function ipv4Of(address: string): string | undefined {
  if (isIPv4(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : undefined;
}

function writeIPv4(buffer: Buffer, offset: number, address: string): void {
  address.split('.').forEach((octet, i) => {
    buffer.writeUInt8(Number(octet), offset + i);
  });
}

function writeIPv6(buffer: Buffer, offset: number, address: string): void {
  if (!isIPv6(address)) throw new Error(`not an IPv6 address: ${address}`);
  let text = address;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two 16-bit groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : zeros).fill('0'), ...tailGroups];
  groups.forEach((group, i) => {
    buffer.writeUInt16BE(Number.parseInt(group, 16), offset + i * 2);
  });
}
