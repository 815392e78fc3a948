/**
 * The few bytes of the MySQL client/server protocol the broker needs: it never parses a proxied stream,
 * only a backend's first packet (in health checks) and the packets it writes itself (an ERR packet
 * before any backend byte reached the client, and a health check's login and COM_QUIT).
 *
 * Packet framing: 3-byte little-endian payload length, 1-byte sequence number, payload.
 */

/** A complete first packet from a server: the greeting (protocol 10) or an ERR packet. */
export type ServerHello =
  | { kind: 'greeting'; protocolVersion: number; serverVersion: string; sequence: number }
  | { kind: 'error'; code: number; message: string; sequence: number }
  | { kind: 'other'; firstByte: number; sequence: number }
  | { kind: 'oversized'; length: number; sequence: number };

export const packetHeaderBytes = 4;

export function packet(sequence: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(packetHeaderBytes);
  header.writeUIntLE(payload.length, 0, 3);
  header[3] = sequence & 0xff;
  return Buffer.concat([header, payload]);
}

/**
 * An ERR packet as a server sends it before the handshake ("Too many connections", "Host is blocked"):
 * sequence 0, 0xff, error code, message. No SQL state marker: the client has not yet said it speaks
 * protocol 4.1, and clients show HY000 for it. Codes must be server codes (below 2000 or from 3000):
 * MariaDB Connector/C reports a 2xxx code in an ERR packet as "Received malformed packet".
 */
export function errPacket(code: number, message: string, sequence = 0, sqlState?: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  // After the client's handshake response a 4.1 server adds `#` and the SQL state.
  const state = sqlState ? Buffer.from(`#${sqlState}`, 'latin1') : Buffer.alloc(0);
  const payload = Buffer.alloc(3 + state.length + text.length);
  payload[0] = 0xff;
  payload.writeUInt16LE(code, 1);
  state.copy(payload, 3);
  text.copy(payload, 3 + state.length);
  return packet(sequence, payload);
}

/**
 * A server's first packet is a few dozen bytes and its version string: one announcing more than this is
 * not a MySQL greeting, and the health check stops reading rather than buffer it.
 */
export const maxGreetingBytes = 64 * 1024;

/** The first packet in `buffer`, or undefined while it is incomplete. */
export function readPacket(buffer: Buffer): { sequence: number; payload: Buffer; size: number } | undefined {
  if (buffer.length < packetHeaderBytes) return undefined;
  const length = buffer.readUIntLE(0, 3);
  if (buffer.length < packetHeaderBytes + length) return undefined;
  return {
    sequence: buffer[3] as number,
    payload: buffer.subarray(packetHeaderBytes, packetHeaderBytes + length),
    size: packetHeaderBytes + length,
  };
}

/** Parses an ERR packet payload (0xff, code, optional `#` + 5-char SQL state, message). */
export function parseErrPayload(payload: Buffer): { code: number; message: string } {
  const code = payload.length >= 3 ? payload.readUInt16LE(1) : 0;
  let rest = payload.subarray(3);
  if (rest[0] === 0x23 /* # */ && rest.length >= 6) rest = rest.subarray(6);
  return { code, message: rest.toString('utf8') };
}

/**
 * What the first packet from a server says it is; undefined while incomplete. A packet announcing
 * more than `maxGreetingBytes` is `oversized` at once, from its header.
 */
export function parseServerHello(buffer: Buffer): ServerHello | undefined {
  if (buffer.length >= packetHeaderBytes && buffer.readUIntLE(0, 3) > maxGreetingBytes) {
    return { kind: 'oversized', length: buffer.readUIntLE(0, 3), sequence: buffer[3] as number };
  }
  const first = readPacket(buffer);
  if (!first) return undefined;
  const { payload, sequence } = first;
  if (payload[0] === 0xff) return { kind: 'error', sequence, ...parseErrPayload(payload) };
  if (payload[0] === 10) {
    const end = payload.indexOf(0, 1);
    const serverVersion = payload.subarray(1, end < 0 ? payload.length : end).toString('latin1');
    return { kind: 'greeting', protocolVersion: 10, serverVersion, sequence };
  }
  return { kind: 'other', firstByte: payload[0] ?? -1, sequence };
}

const clientProtocol41 = 0x0000_0200;
const clientSsl = 0x0000_0800;
const clientSecureConnection = 0x0000_8000;
const clientPluginAuth = 0x0008_0000;
const utf8mb4GeneralCi = 45;

/**
 * A HandshakeResponse41 logging in as `user` with an empty password. The health check sends it so the
 * server sees a completed handshake: a connection dropped right after the greeting counts towards
 * max_connect_errors and gets the broker's host blocked ("Host ... is blocked because of many connection
 * errors"), a finished login (even a refused one) does not.
 */
export function loginPacket(user: string, sequence: number): Buffer {
  const fixed = Buffer.alloc(32);
  fixed.writeUInt32LE(clientProtocol41 | clientSecureConnection | clientPluginAuth, 0);
  fixed.writeUInt32LE(16 * 1024 * 1024, 4);
  fixed[8] = utf8mb4GeneralCi;
  const payload = Buffer.concat([
    fixed,
    Buffer.from(`${user}\0`, 'utf8'),
    Buffer.from([0]), // auth response length 0: the empty password
    Buffer.from('mysql_native_password\0', 'latin1'),
  ]);
  return packet(sequence, payload);
}

/** COM_QUIT: the polite goodbye after a successful login. */
export function quitPacket(): Buffer {
  return packet(0, Buffer.from([0x01]));
}

/** The client's first packet, judged before any of it reaches a backend (see first-packet.ts). */
export type ClientFirstPacket =
  | { kind: 'incomplete' }
  /** `size`: header and payload; an SSLRequest is followed by the TLS handshake. */
  | { kind: 'ok'; size: number; ssl: boolean }
  | { kind: 'oversized'; length: number }
  | { kind: 'malformed'; reason: string };

/** The fixed part of a HandshakeResponse41 and the whole of an SSLRequest. */
const response41FixedBytes = 32;
/** HandshakeResponse320: 2 bytes of capabilities, 3 of max packet size, then the user name. */
const response320FixedBytes = 5;

/**
 * Judges the first packet a client sends after the greeting: a HandshakeResponse41, an SSLRequest, or
 * a pre-4.1 HandshakeResponse320. Only the framing and the fixed part are checked, enough to turn away
 * what is not a MySQL client (an HTTP request, a TLS ClientHello, random bytes) before a backend counts
 * it as a bad handshake. An announced length over `maxBytes` is refused from the header alone, so no
 * more than `maxBytes` is ever buffered.
 */
export function checkClientFirstPacket(buffer: Buffer, maxBytes: number): ClientFirstPacket {
  if (buffer.length < packetHeaderBytes) return { kind: 'incomplete' };
  const length = buffer.readUIntLE(0, 3);
  const sequence = buffer[3] as number;
  if (length > maxBytes) return { kind: 'oversized', length };
  if (sequence !== 1) {
    return {
      kind: 'malformed',
      reason: `packet sequence ${sequence}, expected 1 (the answer to the greeting)`,
    };
  }
  const size = packetHeaderBytes + length;
  if (buffer.length < size) return { kind: 'incomplete' };
  const payload = buffer.subarray(packetHeaderBytes, size);
  if (length < response320FixedBytes)
    return { kind: 'malformed', reason: `a ${length}-byte handshake response` };
  const capabilities = payload.readUInt16LE(0);
  const ssl = (capabilities & clientSsl) !== 0;
  if ((capabilities & clientProtocol41) === 0) {
    if (payload.indexOf(0, response320FixedBytes) < 0) {
      return { kind: 'malformed', reason: 'no user name in the handshake response' };
    }
    return { kind: 'ok', size, ssl: false };
  }
  if (length < response41FixedBytes) {
    return {
      kind: 'malformed',
      reason: `a ${length}-byte handshake response (at least ${response41FixedBytes})`,
    };
  }
  if (length === response41FixedBytes) {
    if (ssl) return { kind: 'ok', size, ssl: true };
    return { kind: 'malformed', reason: 'no user name in the handshake response' };
  }
  if (payload.indexOf(0, response41FixedBytes) < 0) {
    return { kind: 'malformed', reason: 'no user name in the handshake response' };
  }
  return { kind: 'ok', size, ssl };
}
