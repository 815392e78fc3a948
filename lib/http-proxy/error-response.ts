/**
 * The short JSON errors the proxy itself answers with (never the upstream's words): the same body shape
 * for every status, with the stable PODKIT_ERR_* code, on an HTTP/1.1 or HTTP/2 response or written raw
 * on a socket that has no response object (a refused WebSocket upgrade, a malformed request).
 */

import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.js';

export interface ResponseLike {
  readonly headersSent: boolean;
  writeHead(status: number, headers: string[]): unknown;
  end(body?: string): unknown;
}

function errorBody(code: ErrorCode, message: string): string {
  return `${JSON.stringify({ error: message, code })}\n`;
}

export function sendError(
  res: ResponseLike,
  status: number,
  code: ErrorCode,
  message: string,
  extraHeaders: readonly string[] = [],
): void {
  const body = errorBody(code, message);
  res.writeHead(status, [
    'content-type',
    'application/json',
    'content-length',
    String(Buffer.byteLength(body)),
    'cache-control',
    'no-store',
    ...extraHeaders,
  ]);
  res.end(body);
}

/** A complete HTTP/1.1 error response written on a raw socket, which is then closed. */
export function writeRawError(
  socket: Duplex,
  status: number,
  code: ErrorCode,
  message: string,
  extraHeaders: readonly string[] = [],
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorBody(code, message);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: no-store',
    'connection: close',
  ];
  for (let i = 0; i < extraHeaders.length; i += 2) lines.push(`${extraHeaders[i]}: ${extraHeaders[i + 1]}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
