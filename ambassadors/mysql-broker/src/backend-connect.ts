/**
 * Opening a proxied connection to a backend. It counts as open only when the server's first byte has
 * arrived: a frozen mysqld still completes TCP connects from its listen backlog, so waiting for the
 * greeting is what makes --connect-timeout mean "the server did not answer". The first chunk is handed
 * back untouched, to be forwarded as the first bytes the client sees.
 */

import { connect, type Socket } from 'node:net';
import type { HostPort } from '../../../lib/option-types.js';
import { describeSocketError } from './backend-check.js';

export class BackendConnectError extends Error {
  constructor(
    readonly kind: 'timeout' | 'failed' | 'aborted',
    message: string,
  ) {
    super(message);
  }
}

export interface OpenBackend {
  socket: Socket;
  first: Buffer;
}

export function openBackend(address: HostPort, timeoutMs: number, signal: AbortSignal): Promise<OpenBackend> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    let settled = false;
    const fail = (err: BackendConnectError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(new BackendConnectError('aborted', 'the client went away'));
    const timer = setTimeout(() => {
      const what = socket.connecting ? 'TCP connect' : 'MySQL greeting';
      fail(new BackendConnectError('timeout', `backend ${address} gave no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('data', (first: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.pause();
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      resolve({ socket, first });
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      fail(new BackendConnectError('failed', describeSocketError(err))),
    );
    socket.on('close', () =>
      fail(new BackendConnectError('failed', 'closed the connection before its greeting')),
    );
  });
}
