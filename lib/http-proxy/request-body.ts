/**
 * Bounds on a request body the proxy streams to the upstream: how long it may go without a byte
 * (nginx's client_body_timeout) and how large it may grow when no Content-Length announced its size
 * (a declared one is checked by the caller before anything is sent). Both end the exchange with the
 * proxy's answer, so a stalled or endless upload stops holding an upstream connection.
 */

import { Readable } from 'node:stream';
import { ErrorCode } from '../errors.js';
import type { ClientRequest, ProxyExchange } from './exchange.js';

/**
 * 408 when the body stops arriving for `idleMs`. The socket's (HTTP/1.1) or stream's (HTTP/2) own
 * inactivity timer does the watching, so no work is added per chunk; it is cleared once the body ends.
 */
export function watchBodyIdle(
  req: ClientRequest,
  exchange: ProxyExchange,
  idleMs: number,
  onIdle: () => void,
): void {
  const timed = req as ClientRequest & {
    setTimeout(ms: number, callback?: () => void): unknown;
  };
  timed.setTimeout(idleMs, () => {
    if (req.complete) return;
    onIdle();
    exchange.refuse(408, ErrorCode.BAD_REQUEST, `request body stalled for ${idleMs} ms`);
  });
  // An HTTP/1.1 socket goes back to the server's own setting: no timeout until keep-alive.
  req.once('end', () => timed.setTimeout(0));
}

/**
 * The body as undici reads it, cut off with 413 past `maxBytes`: for bodies of unknown length only
 * (chunked, or HTTP/2 without content-length), the only ones that pay for the counting.
 */
export function limitBodySize(
  req: ClientRequest,
  maxBytes: number,
  exchange: () => ProxyExchange | undefined,
  onTooLarge: () => void,
): Readable {
  return Readable.from(
    (async function* counted() {
      let seen = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        seen += chunk.length;
        if (seen > maxBytes) {
          onTooLarge();
          exchange()?.refuse(413, ErrorCode.BAD_REQUEST, `request body larger than ${maxBytes} bytes`);
          throw new Error('request body too large');
        }
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
}
