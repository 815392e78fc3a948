/**
 * --accept-proxy-protocol on the listener: reads the PROXY header a load balancer sends first, keeps the
 * addresses it names on the socket, and hands the bytes after it on. The addresses then stand for the
 * client everywhere (logs, X-Forwarded-For, per-IP limits, the PROXY header sent upstream in l4).
 */

import type { Socket } from 'node:net';
import { type ProxyHeaderResult, parseProxyHeader } from './proxy-header.js';
import type { ConnectionAddresses } from './proxy-protocol.js';

const kProxied = Symbol('podkit.tls-proxy.proxied');

type ProxiedSocket = Socket & { [kProxied]?: ConnectionAddresses; _parent?: ProxiedSocket };

/**
 * Reads until the header is complete or refused (the reader never asks for more than its bound), then
 * pauses the socket with the bytes after the header put back. `done` gets the reader's verdict.
 */
export function readProxyHeader(
  socket: Socket,
  done: (result: Exclude<ProxyHeaderResult, { kind: 'more' }>) => void,
): void {
  let received: Buffer | undefined;
  const onData = (chunk: Buffer) => {
    received = received ? Buffer.concat([received, chunk]) : chunk;
    const result = parseProxyHeader(received);
    if (result.kind === 'more') return;
    socket.off('data', onData);
    socket.pause();
    if (result.kind === 'header') {
      if (result.addresses) (socket as ProxiedSocket)[kProxied] = result.addresses;
      const rest = received.subarray(result.length);
      if (rest.length > 0) socket.unshift(rest);
    }
    done(result);
  };
  socket.on('data', onData);
}

/**
 * The connection's addresses: those of its PROXY header when one named them, else the socket's. A TLS
 * socket wraps the accepted one (node keeps it as `_parent`), where the listener left them.
 */
export function connectionAddresses(socket: Socket): ConnectionAddresses {
  const proxied = socket as ProxiedSocket;
  const header = proxied[kProxied] ?? proxied._parent?.[kProxied];
  return (
    header ?? {
      sourceAddress: socket.remoteAddress,
      sourcePort: socket.remotePort,
      destinationAddress: socket.localAddress,
      destinationPort: socket.localPort,
    }
  );
}
