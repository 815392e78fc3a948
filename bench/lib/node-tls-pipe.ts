/**
 * The least a Node L4 TLS proxy can do: node's TLS server, each connection piped to a new TCP
 * connection to the upstream -- no PROXY header, timeouts, drain or metrics. Benchmarks run it beside
 * podkit tls-proxy --mode l4 to show what part of the gap to nginx is Node's TLS and socket stack.
 *
 *   node dist/bench/lib/node-tls-pipe.js <listen port> <upstream port> <cert file> <key file>
 */

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer } from 'node:tls';

const [listenPort, upstreamPort, certFile, keyFile] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];

createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (client) => {
  const upstream = connect({ host: '127.0.0.1', port: Number(upstreamPort), noDelay: true });
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(Number(listenPort), '127.0.0.1');
