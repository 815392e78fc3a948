/**
 * The least a Node HTTP proxy that splits traffic can do: node's http server in front of two undici
 * keep-alive pools, each request sent to the variant's pool with a given chance (no stickiness) and
 * streamed both ways -- no forwarded headers, no hop-by-hop stripping, no metrics, no limits. Benchmarks
 * run it beside podkit traffic-split to show what part of the gap to nginx is Node's own.
 *
 *   node dist/bench/lib/node-http-split-proxy.js <listen port> <primary port> <variant port> <variant percent>
 */

import { createServer, type IncomingMessage } from 'node:http';
import { Pool } from 'undici';

const [listenPort, primaryPort, variantPort, percent] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const primary = new Pool(`http://127.0.0.1:${primaryPort}`, { connections: 128 });
const variant = new Pool(`http://127.0.0.1:${variantPort}`, { connections: 128 });
const share = Number(percent) / 100;

/** GET and HEAD carry no body; anything else streams its body upstream. */
function bodyOf(req: IncomingMessage): IncomingMessage | null {
  return req.method === 'GET' || req.method === 'HEAD' ? null : req;
}

createServer((req, res) => {
  const pool = Math.random() < share ? variant : primary;
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
