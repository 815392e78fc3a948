/**
 * The StatsD source: a UDP listener (--statsd-listen) feeding the store, which a scrape reads. It is
 * up while its socket is bound; a datagram is read as text, line by line, and a bad line costs only
 * itself.
 */

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { HostPort } from '../../../lib/option-types.js';
import type { FamilyBuilder } from './families.js';
import type { Source } from './source.js';
import type { StatsdStore } from './statsd-store.js';

/** Asked of the kernel so a burst of datagrams waits in the socket instead of being dropped. */
const receiveBufferBytes = 4 * 1024 * 1024;

export class StatsdSource implements Source {
  readonly name = 'statsd';
  readonly #socket: Socket;
  readonly #sweep: NodeJS.Timeout;

  private constructor(
    socket: Socket,
    private readonly store: StatsdStore,
    ttlMs: number,
  ) {
    this.#socket = socket;
    // Expired series also leave between scrapes, so an unscraped exporter does not grow without end.
    this.#sweep = setInterval(() => store.sweep(), Math.max(1000, Math.min(ttlMs || 60_000, 60_000)));
    this.#sweep.unref();
  }

  /** Binds the UDP socket; resolves with the source and the address it got. */
  static async listen(
    address: HostPort,
    store: StatsdStore,
    ttlMs: number,
  ): Promise<{ source: StatsdSource; address: string }> {
    const socket = createSocket({
      type: isIPv6(address.host) ? 'udp6' : 'udp4',
      recvBufferSize: receiveBufferBytes,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(address.port, address.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('message', (message) => store.ingest(message.toString('utf8')));
    const bound = socket.address();
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    return { source: new StatsdSource(socket, store, ttlMs), address: `${host}:${bound.port}` };
  }

  async collect(out: FamilyBuilder): Promise<void> {
    this.store.write(out);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}
