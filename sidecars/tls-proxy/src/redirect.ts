/**
 * --redirect-listen: a plain-HTTP listener whose only answer is "use https". GET and HEAD get 301 (what
 * browsers and caches expect); other methods get 308 so a POST is not silently turned into a GET.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCode } from '../../../lib/errors.js';
import { sendError } from '../../../lib/http-proxy/error-response.js';
import { asClientResponse } from '../../../lib/http-proxy/exchange.js';

const hostPattern = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d+)?$/;

/** The https URL for a plain-HTTP request, or undefined when its Host header is unusable. */
export function redirectLocation(
  host: string | undefined,
  path: string,
  httpsPort: number,
): string | undefined {
  if (host === undefined) return undefined;
  const match = hostPattern.exec(host.trim());
  if (!match) return undefined;
  const hostname = match[1] as string;
  const port = httpsPort === 443 ? '' : `:${httpsPort}`;
  return `https://${hostname}${port}${path.startsWith('/') ? path : '/'}`;
}

/** HSTS is never sent here: it is only meaningful over https (RFC 6797 §8.1). */
export function createRedirectServer(httpsPort: number, counted: (status: number) => void): Server {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const location = redirectLocation(req.headers.host, req.url ?? '/', httpsPort);
    if (location === undefined) {
      counted(400);
      sendError(
        asClientResponse(res),
        400,
        ErrorCode.BAD_REQUEST,
        'a Host header naming this service is required',
      );
      return;
    }
    const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
    counted(status);
    res.writeHead(status, ['location', location, 'content-length', '0', 'cache-control', 'no-store']);
    res.end();
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}
