/**
 * The least a Node TCP proxy can do: accept, connect to the backend, forward bytes both ways (the same
 * lib/socket-forward.ts the podkit data paths use), nothing else. Benchmarks run it beside podkit to show
 * what part of a gap to a C proxy is Node's own per-chunk cost and what part is podkit's.
 *
 *   node dist/bench/lib/node-relay.js <listen port> <backend port>
 */

import { connect, createServer } from 'node:net';
import { forwardBothWays } from '../../lib/socket-forward.js';

const [listenPort, backendPort] = process.argv.slice(2).map(Number);

createServer({ noDelay: true }, (client) => {
  const backend = connect({ host: '127.0.0.1', port: backendPort as number, noDelay: true });
  const close = () => {
    client.destroy();
    backend.destroy();
  };
  client.on('error', close);
  backend.on('error', close);
  forwardBothWays(client, backend);
}).listen(listenPort, '127.0.0.1');
