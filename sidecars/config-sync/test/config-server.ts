/**
 * A config server for the http source's tests: serves a JSON body with an ETag of its content, 304 when
 * it matches, a forced status, and a bearer token when one is set; records what each request carried.
 */

import { createHash } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Teardown } from '../../../test/support/process.js';

interface Seen {
  ifNoneMatch: string | undefined;
  authorization: string | undefined;
  status: number;
}

/** A config server: serves `body` with an ETag of its content, 304 when it matches, or a forced status. */
export async function configServer(t: Teardown, tls?: { cert: string; key: string }) {
  const state = {
    body: '{"app.conf":"greeting = one\\n"}',
    status: 200,
    errorBody: 'config store broke',
    token: undefined as string | undefined,
    seen: [] as Seen[],
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const answer = (status: number, headers: Record<string, string> = {}, body = '') => {
      state.seen.push({
        ifNoneMatch: req.headers['if-none-match'],
        authorization: req.headers.authorization,
        status,
      });
      res.writeHead(status, headers);
      res.end(body);
    };
    if (state.token !== undefined && req.headers.authorization !== `Bearer ${state.token}`) {
      return answer(401, { 'content-type': 'application/json' }, '{"error":"unauthorized"}');
    }
    if (state.status !== 200) return answer(state.status, { 'content-type': 'text/plain' }, state.errorBody);
    const etag = `"${createHash('sha256').update(state.body).digest('hex').slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) return answer(304, { etag });
    return answer(200, { etag, 'content-type': 'application/json' }, state.body);
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  return { state, server, url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/config` };
}

export const httpArgs = (url: string, target: string, ...more: string[]) => [
  '--source',
  'http',
  '--url',
  url,
  '--target-dir',
  target,
  '--poll-interval',
  '200ms',
  '--debounce',
  '20ms',
  ...more,
];
