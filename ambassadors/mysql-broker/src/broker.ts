/**
 * The data path: a TCP proxy from the app's localhost listeners to the current backend. Each client
 * connection tries the route's healthy backends in order until one greets it; the bytes then flow both
 * ways unchanged (byte-exact, backpressure included) and the stream is never parsed. When no
 * backend can be had, the client gets a MySQL ERR packet instead of a greeting -- only ever before any
 * backend byte reached it -- so it prints a reason instead of hanging or seeing a silent close.
 */

import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode } from '../../../lib/errors.js';
import { listen } from '../../../lib/http-server.js';
import type { Logger } from '../../../lib/log.js';
import type { HostPort } from '../../../lib/option-types.js';
import { forward } from '../../../lib/socket-forward.js';
import { ConnectionTracker, type Drainable } from '../../../lib/tcp-drain.js';
import { BackendConnectError, openBackend } from './backend-connect.js';
import type { BackendState } from './backend-pool.js';
import { type Refused, readFirstPacket, refusalOf } from './first-packet.js';
import type { Bytes, ConnectionSource, LimitName, ListenerName, RefusalReason } from './metrics.js';
import { errPacket, loginPacket } from './protocol.js';
import { refusalCodes, refusalMessage } from './refusals.js';

/** Where a listener's connections go. */
export interface Route {
  /** Backends to try, in order. */
  candidates(): BackendState[];
  /** A connection attempt failed: take the backend out now rather than at its next check. */
  markFailed(key: string, detail: string): void;
  /** Why nothing is healthy, for the ERR message. */
  describe(): string;
}

/** What happened to connections: metrics in one process, messages to the primary in a worker. */
export interface BrokerEvents {
  /** A promise holds the client's first backend byte until it resolves (worker-pool.ts says why). */
  brokered(listener: ListenerName, backendKey: string, id: number): void | Promise<void>;
  refused(reason: RefusalReason, id: number): void;
  closed?(id: number): void;
}

export interface BrokerOptions {
  connectTimeoutMs: number;
  /** 0: no idle timeout. */
  idleTimeoutMs: number;
  /** 0: no limit. Counts both listeners. */
  maxConnections: number;
  /** Largest first packet a client may send (first-packet.ts). */
  maxHandshakeBytes: number;
  /** Who to log in as to end a backend's handshake politely when its client is refused; empty: none. */
  healthUser: string;
  log: Logger;
  events: BrokerEvents;
  /** A client refused for its first packet (counted where the data path runs). */
  limitRejected(limit: LimitName): void;
}

/** The data path as the component sees it: in this process (Broker) or spread over workers. */
export interface DataPath extends ConnectionSource {
  listen(listener: ListenerName, address: HostPort, route: Route): Promise<string>;
  closeBackend(key: string): number;
  drain(): Promise<void>;
}

/** Answers a client with an ERR packet in place of the greeting, and makes sure the socket goes away. */
export function refuse(client: Socket, reason: RefusalReason, detail: string, log: Logger): void {
  const message = refusalMessage(reason, detail);
  const code = reason === 'max_connections' ? ErrorCode.CONNECTION_LIMIT : ErrorCode.BACKEND_UNAVAILABLE;
  log.warn({ code, reason, mysqlError: refusalCodes[reason], detail }, 'connection refused');
  client.on('error', () => {});
  client.end(errPacket(refusalCodes[reason], message));
  // A client that never closes its side must not hold a connection slot.
  setTimeout(() => client.destroy(), 5000).unref();
}

/** One client connection and, once established, its backend connection. */
class Brokered implements Drainable {
  backend: Socket | undefined;
  backendKey: string | undefined;
  /** Who sent the last chunk: a connection whose backend spoke last is between queries. */
  turn: 'none' | 'client' | 'backend' = 'none';
  #closed = false;
  #quietPolls = 0;
  #lastBytes = -1;

  constructor(
    readonly client: Socket,
    readonly listener: ListenerName,
    readonly abort: AbortController,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.abort.abort();
    this.client.destroy();
    this.backend?.destroy();
  }

  /** At rest: the backend answered last and nothing moved for two polls (a MySQL client's turn, idle). */
  atRest(): boolean {
    const moved = this.client.bytesRead + this.client.bytesWritten;
    this.#quietPolls = moved === this.#lastBytes ? this.#quietPolls + 1 : 0;
    this.#lastBytes = moved;
    return this.turn === 'backend' && this.#quietPolls >= 2;
  }
}

export class Broker implements DataPath {
  readonly #tracker = new ConnectionTracker<Brokered>();
  readonly #servers: Server[] = [];
  /** Bytes of connections already closed; open ones are read from their sockets. */
  #closedBytes = { upstream: 0, downstream: 0 };

  constructor(private readonly options: BrokerOptions) {}

  async listen(listener: ListenerName, address: HostPort, route: Route): Promise<string> {
    const server = createServer({ noDelay: true }, (client) => void this.adopt(client, listener, route));
    const bound = await listen(server, address, `mysql-broker ${listener} listener`);
    this.#servers.push(server);
    this.options.log.info({ listener, address: bound }, 'listening');
    return bound;
  }

  active(listener: ListenerName): number {
    let count = 0;
    for (const connection of this.#tracker.values()) if (connection.listener === listener) count++;
    return count;
  }

  bytes(): Bytes {
    let { upstream, downstream } = this.#closedBytes;
    for (const { client, backend } of this.#tracker.values()) {
      if (!backend) continue;
      upstream += client.bytesRead;
      downstream += client.bytesWritten;
    }
    return { upstream, downstream };
  }

  /** Closes every connection to a backend that stopped answering; returns how many. */
  closeBackend(key: string): number {
    let closed = 0;
    for (const connection of this.#tracker.values()) {
      if (connection.backendKey !== key) continue;
      connection.close();
      closed++;
    }
    return closed;
  }

  /** Stop accepting; connections finish, or are closed once at rest between queries. */
  drain(): Promise<void> {
    return this.#tracker.drain(this.#servers);
  }

  /** Serves one accepted client: from this process's listener, or handed over by the primary. */
  async adopt(client: Socket, listener: ListenerName, route: Route, id = 0): Promise<void> {
    const connection = new Brokered(client, listener, new AbortController());
    client.on('error', () => connection.close());
    client.once('close', () => {
      connection.close();
      // Only brokered bytes count: an ERR packet the broker wrote itself was never proxied.
      if (connection.backend) {
        this.#closedBytes.upstream += client.bytesRead;
        this.#closedBytes.downstream += client.bytesWritten;
      }
      this.#tracker.delete(connection);
      this.options.events.closed?.(id);
    });
    const { maxConnections } = this.options;
    if (this.#tracker.draining) return connection.close();
    if (maxConnections > 0 && this.#tracker.size >= maxConnections) {
      return this.#refuse(client, 'max_connections', `--max-connections ${maxConnections} reached`, id);
    }
    this.#tracker.add(connection);
    // Clients wait for the greeting before they send; anything early waits in the socket.
    client.pause();

    let timedOut: string | undefined;
    const tried: string[] = [];
    for (const candidate of route.candidates()) {
      try {
        const { socket, first } = await openBackend(
          candidate.address,
          this.options.connectTimeoutMs,
          connection.abort.signal,
        );
        return this.#splice(connection, candidate.key, socket, first, id);
      } catch (err) {
        if (!(err instanceof BackendConnectError) || err.kind === 'aborted') return connection.close();
        if (err.kind === 'timeout') timedOut = err.message;
        tried.push(`${candidate.key}: ${err.message}`);
        this.options.log.warn(
          { code: ErrorCode.BACKEND_UNAVAILABLE, listener, backend: candidate.key, detail: err.message },
          'backend failed',
        );
        route.markFailed(candidate.key, err.message);
      }
    }
    if (timedOut) return this.#refuse(client, 'connect_timeout', timedOut, id);
    this.#refuse(client, 'no_backend', tried.length ? `tried ${tried.join('; ')}` : route.describe(), id);
  }

  #splice(connection: Brokered, key: string, backend: Socket, first: Buffer, id: number): void {
    connection.backend = backend;
    connection.backendKey = key;
    backend.on('error', () => connection.close());
    backend.once('close', () => connection.close());
    // Told before the client sees the greeting: a worker's primary answers for the client until then.
    const reported = this.options.events.brokered(connection.listener, key, id);
    if (reported instanceof Promise) void reported.then(() => this.#flow(connection, backend, first));
    else this.#flow(connection, backend, first);
  }

  #flow(connection: Brokered, backend: Socket, first: Buffer): void {
    if (connection.closed) return;
    const { client } = connection;
    if (this.options.idleTimeoutMs > 0) {
      client.setTimeout(this.options.idleTimeoutMs, () => connection.close());
    }
    client.write(first);
    forward(backend, client, () => {
      connection.turn = 'backend';
    });
    backend.resume();
    const closeEarly = () => connection.close();
    client.once('end', closeEarly);
    readFirstPacket(client, this.options.maxHandshakeBytes, (verdict, bytes) => {
      client.removeListener('end', closeEarly);
      if (connection.closed) return;
      if (verdict.kind !== 'ok') return this.#refuseHandshake(connection, backend, verdict);
      connection.turn = 'client';
      backend.write(bytes);
      forward(client, backend, () => {
        connection.turn = 'client';
      });
      client.resume();
    });
  }

  /** The client's first packet was refused: ERR to the client, a finished login to the backend. */
  #refuseHandshake(connection: Brokered, backend: Socket, verdict: Refused): void {
    const { limit, packet, detail } = refusalOf(verdict, this.options.maxHandshakeBytes);
    this.options.limitRejected(limit);
    this.options.log.warn(
      {
        code: ErrorCode.BAD_REQUEST,
        limit,
        listener: connection.listener,
        backend: connection.backendKey,
        detail,
      },
      'client handshake refused',
    );
    connection.client.end(packet);
    // A connection dropped after the greeting counts towards the server's max_connect_errors (see
    // backend-check.ts); a finished login, even a refused one, does not.
    backend.removeAllListeners('data');
    const { healthUser } = this.options;
    if (healthUser) backend.end(loginPacket(healthUser, 1));
    else backend.end();
    setTimeout(() => connection.close(), 5000).unref();
  }

  #refuse(client: Socket, reason: RefusalReason, detail: string, id: number): void {
    this.options.events.refused(reason, id);
    refuse(client, reason, detail, this.options.log);
  }
}
