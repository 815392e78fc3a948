/**
 * What a Node L7 proxy could reach without node's HTTP server and undici: HTTP/1.1 heads parsed and
 * rewritten straight off the TLS socket (hop-by-hop headers out, X-Forwarded-* and Forwarded in, the
 * same for response heads), Content-Length framing both ways, one upstream connection pinned to each
 * client connection. It has none of what makes a proxy safe -- no chunked bodies, no limits, no
 * timeouts, no smuggling checks, no error answers -- so it is a lean reference, not a design:
 * benchmarks run it beside nginx to show roughly how far an l7 path rewritten on raw sockets could go
 * on this machine before any of those are paid for.
 *
 *   node dist/bench/lib/node-raw-h1-proxy.js <listen port> <upstream port> <cert file> <key file>
 */

import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createServer } from 'node:tls';

const [listenPort, upstreamPort, certFile, keyFile] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);
const endOfHead = Buffer.from('\r\n\r\n');

interface Head {
  /** The request or status line. */
  first: string;
  /** The header lines kept. */
  lines: string[];
  host: string;
  bodyLength: number;
}

function parseHead(text: string): Head {
  const [first = '', ...rest] = text.split('\r\n');
  const head: Head = { first, lines: [], host: '', bodyLength: 0 };
  for (const line of rest) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    if (name === 'content-length') head.bodyLength = Number(line.slice(colon + 1));
    if (name === 'host') head.host = line.slice(colon + 1).trim();
    if (!hopByHop.has(name)) head.lines.push(line);
  }
  return head;
}

/** Copies messages from `from` to `to`, each head replaced by rewrite(head), bodies passed as they come. */
function relayMessages(from: Socket, to: Socket, rewrite: (head: Head) => string): void {
  let partialHead: Buffer | undefined;
  let bodyLeft = 0;
  from.on('data', (chunk: Buffer) => {
    let rest = partialHead ? Buffer.concat([partialHead, chunk]) : chunk;
    partialHead = undefined;
    const out: Buffer[] = [];
    while (rest.length > 0) {
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, rest.length);
        out.push(rest.subarray(0, n));
        bodyLeft -= n;
        rest = rest.subarray(n);
        continue;
      }
      const end = rest.indexOf(endOfHead);
      if (end < 0) {
        partialHead = rest;
        break;
      }
      const head = parseHead(rest.toString('latin1', 0, end));
      out.push(Buffer.from(rewrite(head), 'latin1'));
      bodyLeft = head.bodyLength;
      rest = rest.subarray(end + endOfHead.length);
    }
    // One write per chunk read: toward the client, a head and its body leave in one TLS record.
    if (out.length > 0 && !to.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out))) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.once('end', () => to.end());
}

createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (client) => {
  client.setNoDelay(true);
  const address = client.remoteAddress ?? '';
  const upstream = connect({ host: '127.0.0.1', port: Number(upstreamPort), noDelay: true });
  relayMessages(
    client,
    upstream,
    ({ first, lines, host }) =>
      `${first}\r\n${lines.join('\r\n')}\r\nx-forwarded-for: ${address}\r\nx-forwarded-proto: https\r\n` +
      `x-forwarded-host: ${host}\r\nforwarded: for=${address};proto=https\r\n\r\n`,
  );
  relayMessages(upstream, client, ({ first, lines }) => `${first}\r\n${lines.join('\r\n')}\r\n\r\n`);
  client.on('error', () => upstream.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(Number(listenPort), '127.0.0.1');
