/**
 * Mechanics shared by components that serve HTTP on the data path: bind with a clear error, and drain
 * on shutdown (stop accepting, answer what is in flight with `Connection: close`, close idle
 * keep-alive sockets, resolve when the last request has finished).
 */

import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { ErrorCode, PodkitError } from './errors.js';
import type { HostPort } from './option-types.js';

/** Listens and returns the bound `host:port` (port 0 picks a free port, handy in tests). */
export async function listen(server: NetServer, address: HostPort, what: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new PodkitError(ErrorCode.LISTEN, `${what} cannot listen on ${address}: ${err.code ?? err.message}`),
      );
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address();
  if (bound && typeof bound === 'object') {
    return `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  }
  return address.toString();
}

/**
 * Counts requests in flight so a drain knows when it is done. Install before the first request.
 */
export function trackRequests(server: HttpServer): { readonly active: number; drain(): Promise<void> } {
  let active = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    active++;
    // A request that arrives on a kept-alive socket while draining is served, then the socket closes.
    if (draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      active--;
      if (active === 0) onIdle?.();
    });
  });
  return {
    get active() {
      return active;
    },
    drain() {
      draining = true;
      server.close();
      server.closeIdleConnections();
      if (active === 0) {
        server.closeAllConnections();
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        onIdle = () => {
          server.closeAllConnections();
          resolve();
        };
      });
    },
  };
}
