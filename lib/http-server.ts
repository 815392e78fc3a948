/**
 * Binding a server with a clear error, for every listener a component opens (admin, HTTP, TCP).
 * Draining HTTP servers on shutdown is http-drain.ts's job.
 */

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
