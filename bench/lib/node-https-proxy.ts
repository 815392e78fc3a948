/**
 * The least a Node L7 TLS proxy can do: node's https server in front of an undici keep-alive pool,
 * each request streamed to the upstream and the answer streamed back -- no forwarded headers, no
 * hop-by-hop stripping, no metrics, no limits. Benchmarks run it beside podkit tls-proxy to show what
 * part of the gap to nginx is Node's HTTP and TLS stack and what part is podkit's.
 *
 *   node dist/bench/lib/node-https-proxy.js <listen port> <upstream port> <cert file> <key file>
 */

import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import { Pool } from 'undici';

const [listenPort, upstreamPort, certFile, keyFile] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 128 });

/** GET and HEAD carry no body; anything else streams its body upstream. */
function bodyOf(req: IncomingMessage): IncomingMessage | null {
  return req.method === 'GET' || req.method === 'HEAD' ? null : req;
}

createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
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
}).listen(Number(listenPort), '127.0.0.1');
