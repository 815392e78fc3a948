/**
 * The least a Node HTTP proxy that splits traffic can do: node's http server in front of two undici
 * keep-alive pools, each request sent to the variant's pool with a given chance (no stickiness) and
 * streamed both ways (bare-forward.ts). Benchmarks run it beside podkit traffic-split to show what part
 * of the gap to nginx is Node's own.
 *
 *   node dist/bench/lib/node-http-split-proxy.js <listen port> <primary port> <variant port> <variant percent>
 */

import { createServer } from 'node:http';
import { forward, upstreamPool } from './bare-forward.js';

const [listenPort, primaryPort, variantPort, percent] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const primary = upstreamPool(primaryPort);
const variant = upstreamPool(variantPort);
const share = Number(percent) / 100;

createServer((req, res) => forward(Math.random() < share ? variant : primary, req, res)).listen(
  Number(listenPort),
  '127.0.0.1',
);
