/**
 * The one client packet the broker reads: the first, right after the backend's greeting. It is held
 * until complete and judged (protocol.ts checkClientFirstPacket) before the backend sees it, so a client
 * that is not MySQL (an HTTP probe, a TLS ClientHello, garbage) gets an ERR packet from the broker
 * instead of being counted by the server as a bad handshake against the broker's host
 * (max_connect_errors), and so what the broker buffers for it is bounded by --max-handshake-size.
 * Every later byte is forwarded unread.
 */

import type { Socket } from 'node:net';
import type { LimitName } from './metrics.js';
import { type ClientFirstPacket, checkClientFirstPacket, errPacket } from './protocol.js';

export type Refused = Extract<ClientFirstPacket, { kind: 'oversized' | 'malformed' }>;

/**
 * Reads `client` until its first packet is judged, then pauses it and calls `done` with the verdict and
 * every byte read so far (the first packet and anything after it, e.g. the start of a TLS handshake).
 */
export function readFirstPacket(
  client: Socket,
  maxBytes: number,
  done: (verdict: Exclude<ClientFirstPacket, { kind: 'incomplete' }>, bytes: Buffer) => void,
): void {
  let buffered: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    const verdict = checkClientFirstPacket(buffered, maxBytes);
    if (verdict.kind === 'incomplete') return;
    client.removeListener('data', onData);
    client.pause();
    done(verdict, buffered);
  };
  client.on('data', onData);
  client.resume();
}

/** ER_NET_PACKET_TOO_LARGE and ER_HANDSHAKE_ERROR, SQL state 08S01, as a server sends them. */
export function refusalOf(
  verdict: Refused,
  maxBytes: number,
): { limit: LimitName; packet: Buffer; detail: string } {
  // The client sent sequence 1 (or should have): the answer is 2, or it reports packets out of order.
  if (verdict.kind === 'oversized') {
    const detail = `first packet of ${verdict.length} bytes, over --max-handshake-size ${maxBytes}`;
    return {
      limit: 'handshake_size',
      detail,
      packet: errPacket(
        1153,
        `Got a packet bigger than allowed (podkit mysql-broker: ${detail})`,
        2,
        '08S01',
      ),
    };
  }
  return {
    limit: 'handshake_malformed',
    detail: verdict.reason,
    packet: errPacket(1043, `Bad handshake (podkit mysql-broker: ${verdict.reason})`, 2, '08S01'),
  };
}
