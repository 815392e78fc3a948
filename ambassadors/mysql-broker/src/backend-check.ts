/**
 * One health check of one backend: connect, read the server's first packet, and finish the handshake
 * politely. Healthy means "a MySQL server answered": its greeting arrived (protocol 10, with a server
 * version), not merely that a TCP connect succeeded (a frozen mysqld still completes TCP connects from
 * its listen backlog). A server that greets with an ERR packet ("Too many connections", "Host is
 * blocked") is unhealthy with that reason.
 *
 * With a health user, the check then logs in with an empty password, whatever the answer (OK, or
 * "Access denied" when the user does not exist), and says COM_QUIT after an OK. Finishing the handshake
 * matters: MySQL counts connections dropped right after the greeting towards max_connect_errors and then
 * blocks the broker's host. Creating the user (no password, no privileges) also keeps "Access denied"
 * warnings out of the server's error log.
 */

import { connect, type Socket } from 'node:net';
import type { HostPort } from '../../../lib/option-types.js';
import {
  loginPacket,
  maxGreetingBytes,
  packet,
  parseServerHello,
  quitPacket,
  readPacket,
} from './protocol.js';

export interface CheckResult {
  healthy: boolean;
  /** Why not healthy, or the server version when healthy. */
  detail: string;
  serverVersion?: string;
}

export interface CheckOptions {
  timeoutMs: number;
  /** Empty: read the greeting and close (counts towards max_connect_errors, see above). */
  user: string;
}

export function describeSocketError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host (${err.code})`;
    default:
      return err.code ?? err.message;
  }
}

export function checkBackend(address: HostPort, options: CheckOptions): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    let buffered: Buffer = Buffer.alloc(0);
    let phase: 'greeting' | 'login' = 'greeting';
    let switched = false;
    let result: CheckResult | undefined;
    let version: string | undefined;

    const finish = (outcome: CheckResult, goodbye?: Buffer) => {
      if (result) return;
      result = outcome;
      clearTimeout(timer);
      if (goodbye) socket.end(goodbye);
      else socket.end();
      // A server that never reads our FIN must not keep the socket (and the check's memory) around.
      setTimeout(() => socket.destroy(), 1000).unref();
      resolve(outcome);
    };
    const healthy = () => ({
      healthy: true,
      detail: `MySQL ${version ?? 'server'}`,
      ...(version ? { serverVersion: version } : {}),
    });
    const timer = setTimeout(() => {
      const what = socket.connecting
        ? 'TCP connect'
        : phase === 'greeting'
          ? 'no greeting'
          : 'no login answer';
      if (phase === 'login') finish(healthy());
      else finish({ healthy: false, detail: `${what} within ${options.timeoutMs} ms` });
      socket.destroy();
    }, options.timeoutMs);

    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      if (phase === 'greeting') {
        const hello = parseServerHello(buffered);
        if (!hello) return;
        if (hello.kind === 'error') {
          return finish({ healthy: false, detail: `server refused: ${hello.code} ${hello.message}` });
        }
        if (hello.kind === 'oversized') {
          return finish({
            healthy: false,
            detail: `not a MySQL server (first packet announces ${hello.length} bytes, over ${maxGreetingBytes})`,
          });
        }
        if (hello.kind === 'other') {
          return finish({
            healthy: false,
            detail: `not a MySQL server (first packet starts 0x${hello.firstByte.toString(16)})`,
          });
        }
        version = hello.serverVersion;
        if (!options.user) return finish(healthy());
        const size = readPacket(buffered)?.size ?? buffered.length;
        buffered = buffered.subarray(size);
        phase = 'login';
        socket.write(loginPacket(options.user, hello.sequence + 1));
      }
      const answer = readPacket(buffered);
      // A login answer is small: a server that sends more has answered, and is not buffered further.
      if (!answer && buffered.length > maxGreetingBytes) return finish(healthy());
      if (!answer) return;
      buffered = buffered.subarray(answer.size);
      const kind = answer.payload[0];
      if (kind === 0xfe && !switched) {
        // Auth switch request: answer with the empty password again, once.
        switched = true;
        socket.write(packet(answer.sequence + 1, Buffer.alloc(0)));
        return;
      }
      // OK (0x00): logged in, say goodbye. ERR ("Access denied"): the server spoke MySQL to the end.
      finish(healthy(), kind === 0x00 ? quitPacket() : undefined);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (phase === 'login') return finish(healthy());
      finish({ healthy: false, detail: describeSocketError(err) });
    });
    socket.on('close', () => {
      if (phase === 'login') return finish(healthy());
      finish({ healthy: false, detail: 'closed the connection before its greeting' });
    });
  });
}
