/**
 * The listening socket in front of the TLS server. It looks at the first byte of each connection: a TLS
 * handshake (0x16) goes on to the TLS server; anything else is plain text sent to the HTTPS port, which
 * gets nginx's answer (400, "The plain HTTP request was sent to HTTPS port") instead of a TLS alert the
 * client cannot read. The check costs one read per connection, nothing per request. With
 * --accept-proxy-protocol a PROXY header comes first (accept-proxy.ts); a connection without one is closed.
 * It also enforces
 * --max-connections and --max-connections-per-ip, and counts connections for the active-connections
 * gauge and for draining.
 */

import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode } from '../../../lib/errors.js';
import { connectionAddresses, readProxyHeader } from './accept-proxy.js';

const tlsHandshakeRecord = 0x16;

export type ConnectionLimit = 'connections' | 'connections_per_ip';

export interface ListenerOptions {
  maxConnections: number;
  /** 0: no limit. */
  maxConnectionsPerIp: number;
  /** Time allowed for the first byte (with acceptProxyProtocol: the PROXY header and the first byte after it). */
  firstByteTimeoutMs: number;
  /** Every connection starts with a PROXY protocol header; one without a valid header is closed. */
  acceptProxyProtocol: boolean;
  onTls(socket: Socket): void;
  onPlainHttp(socket: Socket): void;
  onFirstByteTimeout(socket: Socket): void;
  onBadProxyHeader(socket: Socket, message: string): void;
  onOpen(socket: Socket): void;
  onClose(socket: Socket): void;
  onDrop(limit: ConnectionLimit): void;
}

export function createListener(options: ListenerOptions): Server {
  const perIp =
    options.maxConnectionsPerIp > 0 ? new ConnectionsPerIp(options.maxConnectionsPerIp) : undefined;
  const server = createServer({ noDelay: true, allowHalfOpen: false }, (socket) => {
    options.onOpen(socket);
    socket.once('close', () => options.onClose(socket));
    socket.on('error', () => {
      // Resets before the handshake are routine (scanners, health checks); the TLS side logs the rest.
    });
    socket.setTimeout(options.firstByteTimeoutMs, () => {
      options.onFirstByteTimeout(socket);
      socket.destroy();
    });
    if (!options.acceptProxyProtocol) return admit(socket);
    readProxyHeader(socket, (result) => {
      if (result.kind === 'header') return admit(socket);
      options.onBadProxyHeader(socket, result.message);
      socket.destroy();
    });
  });

  /** Per-IP admission (on the client address, the PROXY header's if any), then the first-byte check. */
  function admit(socket: Socket): void {
    if (perIp && !perIp.open(socket, connectionAddresses(socket).sourceAddress ?? '')) {
      options.onDrop('connections_per_ip');
      socket.destroy();
      return;
    }
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      if (chunk[0] === tlsHandshakeRecord) {
        // The TLS socket takes over the handle and replays what was read (node's _tls_wrap initRead).
        socket.unshift(chunk);
        options.onTls(socket);
        return;
      }
      options.onPlainHttp(socket);
      answerPlainHttp(socket);
    });
    // The PROXY header reader leaves the socket paused, with the bytes after the header put back.
    socket.resume();
  }
  if (options.maxConnections > 0) server.maxConnections = options.maxConnections;
  server.on('drop', () => options.onDrop('connections'));
  return server;
}

/** Open connections per client address; an address leaves the table with its last connection. */
class ConnectionsPerIp {
  readonly #open = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** Counts the connection in (and out when it closes), or refuses it at the limit. */
  open(socket: Socket, address: string): boolean {
    const count = this.#open.get(address) ?? 0;
    if (count >= this.limit) return false;
    this.#open.set(address, count + 1);
    socket.once('close', () => {
      const left = (this.#open.get(address) ?? 1) - 1;
      if (left === 0) this.#open.delete(address);
      else this.#open.set(address, left);
    });
    return true;
  }
}

const plainHttpBody = `${JSON.stringify({
  error: 'The plain HTTP request was sent to HTTPS port',
  code: ErrorCode.PLAIN_HTTP,
})}\n`;
const plainHttpResponse = [
  'HTTP/1.1 400 Bad Request',
  'content-type: application/json',
  `content-length: ${Buffer.byteLength(plainHttpBody)}`,
  'connection: close',
  '',
  plainHttpBody,
].join('\r\n');

/**
 * Answers and half-closes, then reads what the client still sends before closing: closing a socket with
 * unread data makes the kernel send a reset, which can destroy the answer before the client reads it.
 */
function answerPlainHttp(socket: Socket): void {
  socket.end(plainHttpResponse);
  socket.on('data', () => {});
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), 2000);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}
