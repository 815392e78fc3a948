/**
 * The least a Node L7 TLS proxy can do: node's https server in front of an undici keep-alive pool, each
 * request streamed to the upstream and the answer streamed back (bare-forward.ts). Benchmarks run it
 * beside podkit tls-proxy to show what part of the gap to nginx is Node's HTTP and TLS stack and what
 * part is podkit's.
 *
 *   node dist/bench/lib/node-https-proxy.js <listen port> <upstream port> <cert file> <key file>
 */

import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { forward, upstreamPool } from './bare-forward.js';

const [listenPort, upstreamPort, certFile, keyFile] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const pool = upstreamPool(upstreamPort);

createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) =>
  forward(pool, req, res),
).listen(Number(listenPort), '127.0.0.1');
