/**
 * lib/http-client.ts against real local HTTP and HTTPS servers, with certificates made for the run:
 * deadlines, aborts, a private CA trusted and an unknown one refused, TLS older than 1.2 refused,
 * credentials from the URL sent as Basic auth and never shown, bounded bodies, redirects not followed.
 */

import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import t from 'tap';
import { HttpClient, RequestError } from '../../lib/http-client.js';
import { CertificateAuthority } from '../support/certs.js';
import { freePort } from '../support/ports.js';
import type { Teardown } from '../support/process.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Starts `server` on loopback; every connection it accepted is destroyed on teardown. */
async function serve(t: Teardown, server: Server): Promise<{ port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, sockets };
}

function client(t: Teardown, options: ConstructorParameters<typeof HttpClient>[0] = {}): HttpClient {
  const made = new HttpClient(options);
  t.teardown(() => made.close());
  return made;
}

async function failure(promise: Promise<unknown>): Promise<RequestError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RequestError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

const dir = mkdtempSync(join(tmpdir(), 'podkit-http-client-'));

t.test('a plain GET, connections kept alive between requests', async (t) => {
  const seen: string[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.socket.remotePort}`);
    res.setHeader('etag', '"v1"');
    res.end(`hello ${req.headers['x-who']}`);
  });
  const { port } = await serve(t, server);
  const http = client(t);
  const first = await http.request(new URL(`http://127.0.0.1:${port}/a`), {
    headers: { 'x-who': 'podkit' },
    timeoutMs: 5000,
  });
  t.equal(first.status, 200);
  t.equal(first.body.toString(), 'hello podkit');
  t.equal(first.headers.etag, '"v1"');
  await http.request(new URL(`http://127.0.0.1:${port}/b`), { timeoutMs: 5000 });
  t.equal(seen.length, 2);
  t.equal(seen[0]?.split(' ')[2], seen[1]?.split(' ')[2], 'the second request reused the connection');
});

t.test('a deadline covers a server that never answers, or answers too slowly', async (t) => {
  const server = createHttpServer((req, res) => {
    if (req.url === '/slow-body') {
      res.writeHead(200);
      res.write('started');
      return; // the body never ends
    }
    // never answers at all
  });
  const { port } = await serve(t, server);
  const http = client(t);
  for (const path of ['/silent', '/slow-body']) {
    const started = Date.now();
    const err = await failure(http.request(new URL(`http://127.0.0.1:${port}${path}`), { timeoutMs: 300 }));
    const took = Date.now() - started;
    t.equal(err.kind, 'timeout', path);
    t.match(err.message, new RegExp(`^GET http://127\\.0\\.0\\.1:${port}${path}: timeout`), path);
    t.ok(took >= 250 && took < 3000, `${path}: failed after its 300 ms deadline (${took} ms)`);
  }
});

t.test("the caller's signal aborts a request in flight", async (t) => {
  const server = createHttpServer(() => {});
  const { port } = await serve(t, server);
  const http = client(t);
  const abort = new AbortController();
  const pending = failure(
    http.request(new URL(`http://127.0.0.1:${port}/`), { timeoutMs: 30_000, signal: abort.signal }),
  );
  setImmediate(() => abort.abort());
  t.equal((await pending).kind, 'aborted');
});

t.test('https: a private CA is trusted with caFile, an unknown one is refused', async (t) => {
  const ca = await CertificateAuthority.create();
  const other = await CertificateAuthority.create('some other CA');
  const cert = await ca.localhost();
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  const otherCaFile = join(dir, 'other-ca.crt');
  writeFileSync(otherCaFile, other.certPem);
  const server = createHttpsServer({ cert: cert.chainPem, key: cert.keyPem }, (_req, res) =>
    res.end('secret'),
  );
  const { port } = await serve(t, server);
  const url = new URL(`https://127.0.0.1:${port}/`);

  const trusted = await client(t, { caFile }).request(url, { timeoutMs: 5000 });
  t.equal(trusted.body.toString(), 'secret');

  for (const [what, options] of [
    ['the system CAs', {}],
    ['another CA', { caFile: otherCaFile }],
  ] as const) {
    const err = await failure(client(t, options).request(url, { timeoutMs: 5000 }));
    t.equal(err.kind, 'network', what);
    t.match(err.detail, /self-signed certificate|unable to (verify|get local issuer)/i, what);
  }
  const missing = await failure(
    client(t, { caFile: join(dir, 'nope.crt') }).request(url, { timeoutMs: 5000 }),
  );
  t.match(missing.detail, /cannot read the CA file .*nope\.crt: ENOENT/);
});

t.test('https: a server that offers only TLS 1.1 is refused', async (t) => {
  const ca = await CertificateAuthority.create();
  const cert = await ca.localhost();
  const caFile = join(dir, 'tls11-ca.crt');
  writeFileSync(caFile, ca.certPem);
  // Level 0 lets OpenSSL 3 speak TLS 1.1 at all, so the refusal below is the client's own minimum.
  const old = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
  const server = createHttpsServer({ cert: cert.chainPem, key: cert.keyPem, ...old }, (_req, res) =>
    res.end('old'),
  );
  const { port } = await serve(t, server);

  // A client that allows TLS 1.1 does get through: the server works.
  const socket = connect({ host: '127.0.0.1', port, ca: ca.certPem, ...old });
  await once(socket, 'secureConnect');
  t.equal(socket.getProtocol(), 'TLSv1.1');
  socket.destroy();

  const err = await failure(
    client(t, { caFile }).request(new URL(`https://127.0.0.1:${port}/`), { timeoutMs: 5000 }),
  );
  t.equal(err.kind, 'network');
  t.match(err.detail, /protocol|version/i, 'refused for its version');
});

t.test('credentials in the URL: a Basic header, never in a message', async (t) => {
  let authorization: string | undefined;
  const server = createHttpServer((req, res) => {
    authorization = req.headers.authorization;
    res.end();
  });
  const { port } = await serve(t, server);
  const http = client(t);
  await http.request(new URL(`http://hook:pa%24%24word@127.0.0.1:${port}/x`), { timeoutMs: 5000 });
  t.equal(authorization, `Basic ${Buffer.from('hook:pa$$word').toString('base64')}`);
  await http.request(new URL(`http://hook:pa%24%24word@127.0.0.1:${port}/x`), {
    timeoutMs: 5000,
    headers: { authorization: 'Bearer mine' },
  });
  t.equal(authorization, 'Bearer mine', "the caller's own header wins");

  const closed = await freePort();
  const refused = await failure(
    http.request(new URL(`http://hook:pa%24%24word@127.0.0.1:${closed}/x`), { timeoutMs: 5000 }),
  );
  t.match(
    refused.message,
    new RegExp(`^GET http://hook:redacted@127\\.0\\.0\\.1:${closed}/x: .*ECONNREFUSED`),
  );

  const ca = await CertificateAuthority.create();
  const cert = await ca.localhost();
  const tls = createHttpsServer({ cert: cert.chainPem, key: cert.keyPem }, (_req, res) => res.end());
  const { port: tlsPort } = await serve(t, tls);
  const untrusted = await failure(
    http.request(new URL(`https://hook:pa%24%24word@127.0.0.1:${tlsPort}/x`), { timeoutMs: 5000 }),
  );
  for (const err of [refused, untrusted]) {
    const text = `${err.message} ${err.detail} ${String(err)} ${JSON.stringify(err)}`;
    t.notMatch(text, /pa\$\$word|pa%24%24word/, 'the password appears nowhere');
  }
});

t.test('bodies are bounded: too large fails, or is cut when asked', async (t) => {
  const server = createHttpServer((_req, res) => res.end('x'.repeat(100_000)));
  const { port } = await serve(t, server);
  const http = client(t);
  const url = new URL(`http://127.0.0.1:${port}/`);
  const err = await failure(http.request(url, { timeoutMs: 5000, maxBodyBytes: 1000 }));
  t.equal(err.kind, 'too-large');
  t.match(err.detail, /larger than 1000 bytes/);
  const cut = await http.request(url, { timeoutMs: 5000, maxBodyBytes: 1000, truncate: true });
  t.equal(cut.status, 200);
  t.equal(cut.body.length, 1000);
  const whole = await http.request(url, { timeoutMs: 5000 });
  t.equal(whole.body.length, 100_000, 'the next request is unaffected');
});

t.test('a redirect is the answer, never followed', async (t) => {
  let followed = 0;
  const handler: Handler = (req, res) => {
    if (req.url === '/elsewhere') {
      followed += 1;
      res.end('followed');
      return;
    }
    res.writeHead(302, { location: '/elsewhere' }).end();
  };
  const { port } = await serve(t, createHttpServer(handler));
  const answer = await client(t).request(new URL(`http://127.0.0.1:${port}/`), {
    method: 'POST',
    body: '{}',
    timeoutMs: 5000,
  });
  t.equal(answer.status, 302);
  t.equal(answer.headers.location, '/elsewhere');
  t.equal(followed, 0);
});

t.test('a kept-alive connection dropped as it is reused: a GET goes once more, a POST fails', async (t) => {
  // A raw server: the first request on a connection is answered with keep-alive, a second request on
  // the same connection is dropped unanswered (what a server closing an idle connection looks like).
  let connections = 0;
  const server = createNetServer((socket) => {
    connections += 1;
    let requests = 0;
    socket.on('data', (chunk) => {
      if (!chunk.toString().includes('\r\n\r\n')) return;
      requests += 1;
      if (requests === 1)
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
      else socket.destroy();
    });
  });
  const { port } = await serve(t, server);
  const http = client(t);
  const url = new URL(`http://127.0.0.1:${port}/`);
  t.equal((await http.request(url, { timeoutMs: 5000 })).status, 200);
  t.equal((await http.request(url, { timeoutMs: 5000 })).status, 200, 'the GET is sent again');
  t.equal(connections, 2, 'on a new connection');
  const err = await failure(http.request(url, { method: 'POST', body: 'x', timeoutMs: 5000 }));
  t.equal(err.kind, 'network', 'a POST is not repeated');
  t.match(err.detail, /ECONNRESET|socket hang up/);
});
