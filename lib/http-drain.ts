/**
 * Draining HTTP servers, the counterpart of tcp-drain.ts for HTTP/1.1 and HTTP/2: stop taking
 * connections, let the requests in flight finish, close each connection as soon as its last response is
 * out (HTTP/2 sessions with GOAWAY), and resolve when none is left. Connections that left HTTP through
 * an upgrade (WebSockets) have no request boundary: they get a grace period, then are closed.
 *
 * Servers that listen stop listening when the drain starts; servers fed connections by hand (behind a
 * TLS server) keep running until the caller closes them, so their header and request timeouts still
 * apply to what arrives during the drain. Such a server must have emitted 'listening': node tracks its
 * connections (which are idle, which time out) only from then on.
 */

import type { Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';

/** One HTTP/1.1 connection, kept on its socket and on each of its responses. */
interface Connection {
  readonly socket: Duplex;
  readonly drain: { draining: boolean };
  inFlight: number;
}

const kConnection = Symbol('podkit.http-drain.connection');
type Tagged<T> = T & { [kConnection]?: Connection };

export class HttpConnections {
  readonly #state = { draining: false };
  readonly #sockets = new Set<Duplex>();
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #tunnels = new Set<Duplex>();
  readonly #servers: (HttpServer | Http2Server)[] = [];
  #onIdle: (() => void) | undefined;

  get draining(): boolean {
    return this.#state.draining;
  }

  /** Follows an HTTP/1.1 server's connections (install before its first); while draining, new ones are closed. */
  followHttp1(server: HttpServer): void {
    this.#servers.push(server);
    server.on('connection', (socket: Duplex) => {
      if (this.#state.draining) {
        socket.destroy();
        return;
      }
      (socket as Tagged<Duplex>)[kConnection] = { socket, drain: this.#state, inFlight: 0 };
      this.#sockets.add(socket);
      socket.once('close', () => {
        this.#sockets.delete(socket);
        this.#checkIdle();
      });
    });
  }

  /** Follows an HTTP/2 server's sessions; while draining, new ones are closed once their streams are done. */
  followHttp2(server: Http2Server): void {
    this.#servers.push(server);
    server.on('session', (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      session.once('close', () => {
        this.#sessions.delete(session);
        this.#checkIdle();
      });
      if (this.#state.draining) session.close();
    });
  }

  /** Call with every HTTP/1.1 request: its connection counts as busy until the response closes. */
  requestStarted(socket: Duplex, res: ServerResponse): void {
    const connection = (socket as Tagged<Duplex>)[kConnection];
    if (connection === undefined) return;
    connection.inFlight++;
    // The response's own socket reference is gone by the time it closes (node detaches it).
    (res as Tagged<ServerResponse>)[kConnection] = connection;
    res.on('close', onResponseClose);
  }

  /** The connection left HTTP (an upgrade): from now on it drains as a tunnel. */
  upgraded(socket: Duplex): void {
    this.#sockets.delete(socket);
    this.#tunnels.add(socket);
    socket.once('close', () => {
      this.#tunnels.delete(socket);
      this.#checkIdle();
    });
  }

  /**
   * Stops taking connections and resolves once every HTTP connection has closed and every tunnel has
   * either closed or been closed after `tunnelGraceMs`.
   */
  async drain({ tunnelGraceMs = 0 }: { tunnelGraceMs?: number } = {}): Promise<void> {
    this.#state.draining = true;
    for (const session of this.#sessions) session.close();
    for (const server of this.#servers) {
      if (server.listening) server.close();
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    }
    await this.#idle(() => this.#sockets.size === 0 && this.#sessions.size === 0);
    if (this.#tunnels.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#idle(() => this.#tunnels.size === 0),
      new Promise((resolve) => {
        timer = setTimeout(resolve, tunnelGraceMs);
      }),
    ]);
    clearTimeout(timer);
    for (const tunnel of this.#tunnels) tunnel.destroy();
  }

  #idle(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onIdle = () => {
        if (!done()) return;
        this.#onIdle = undefined;
        resolve();
      };
    });
  }

  #checkIdle(): void {
    this.#onIdle?.();
  }
}

function onResponseClose(this: Tagged<ServerResponse>): void {
  const connection = this[kConnection];
  if (connection === undefined) return;
  connection.inFlight--;
  // While draining, a connection is closed as soon as its last response is out.
  if (connection.drain.draining && connection.inFlight === 0) connection.socket.end();
}
