/**
 * What the bare Node proxies of the benchmarks share: an undici keep-alive pool per upstream, and one
 * request streamed to it and the answer streamed back -- no forwarded headers, no hop-by-hop stripping,
 * no metrics, no limits.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';

export function upstreamPool(port: string): Pool {
  return new Pool(`http://127.0.0.1:${port}`, { connections: 128 });
}

/** GET and HEAD carry no body; anything else streams its body upstream. */
function bodyOf(req: IncomingMessage): IncomingMessage | null {
  return req.method === 'GET' || req.method === 'HEAD' ? null : req;
}

export function forward(pool: Pool, req: IncomingMessage, res: ServerResponse): void {
  pool
    .stream(
      { path: req.url ?? '/', method: req.method as 'GET', headers: req.headers, body: bodyOf(req) },
      (data) => {
        res.writeHead(data.statusCode, data.headers as Record<string, string>);
        return res;
      },
    )
    .catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
}
