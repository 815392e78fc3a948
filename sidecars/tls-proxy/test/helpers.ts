/**
 * What the tls-proxy tests share: certificates made per run, a real upstream that reports what it
 * received (and echoes WebSockets), the proxy as a real process, and real clients (node https, curl,
 * openssl s_client).
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { type CertFiles, CertificateAuthority, writeCert } from '../../../test/support/certs.js';
import { type Started, startComponent, type Teardown } from '../../../test/support/process.js';

export interface TestPki {
  dir: string;
  ca: CertificateAuthority;
  caFile: string;
  server: CertFiles;
  /** A client certificate from the same CA (CN=good-client, SAN URI spiffe://podkit/good). */
  client: CertFiles;
  /** A client certificate from a CA the proxy does not trust. */
  stranger: CertFiles;
}

export async function makePki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-tls-proxy-'));
  const ca = await CertificateAuthority.create();
  const other = await CertificateAuthority.create('some other CA');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  return {
    dir,
    ca,
    caFile,
    server: await writeCert(dir, 'server', await ca.localhost()),
    client: await writeCert(
      dir,
      'client',
      await ca.issue({ commonName: 'good-client', altNames: ['good.client.test'], usage: 'client' }),
    ),
    stranger: await writeCert(
      dir,
      'stranger',
      await other.issue({ commonName: 'stranger', usage: 'client' }),
    ),
  };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: string;
}

export interface Upstream {
  server: Server;
  url: string;
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP upstream on 127.0.0.1: `/echo` answers with what it received as JSON, `/slow?ms=N` answers
 * after N ms, `/hop` answers with hop-by-hop headers a proxy must drop, `/ws` is a WebSocket echo.
 */
export async function startUpstream(t: Teardown, port = 0): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const record = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      };
      seen.push(record);
      const url = new URL(req.url ?? '/', 'http://upstream');
      if (url.pathname === '/slow') {
        const timer = setTimeout(() => res.end('slow done\n'), Number(url.searchParams.get('ms') ?? 0));
        res.once('close', () => clearTimeout(timer));
        return;
      }
      if (url.pathname === '/hop') {
        res.writeHead(200, [
          'connection',
          'x-secret-hop',
          'x-secret-hop',
          'drop me',
          'keep-alive',
          'timeout=5',
          'x-kept',
          'yes',
        ]);
        res.end('hop\n');
        return;
      }
      if (url.pathname === '/big') {
        res.end('x'.repeat(Number(url.searchParams.get('bytes') ?? 1_000_000)));
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(record));
    });
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket, req) => {
    socket.send(JSON.stringify({ hello: true, xff: req.headers['x-forwarded-for'] }));
    socket.on('message', (data, binary) => socket.send(data, { binary }));
  });
  // A chosen port may have been taken since it was picked: a rejection, not an uncaught error. ws
  // re-emits the server's errors on the WebSocketServer, which is where a listen error surfaces.
  await new Promise<void>((resolve, reject) => {
    wss.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      wss.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const close = async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return { server, url: `http://127.0.0.1:${bound}`, port: bound, seen, close };
}

export interface ProxyProcess extends Started {
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
}

export async function startProxy(
  t: Teardown,
  pki: TestPki,
  upstream: string,
  args: string[] = [],
  options: { ready?: boolean; env?: NodeJS.ProcessEnv; cert?: CertFiles } = {},
): Promise<ProxyProcess> {
  const cert = options.cert ?? pki.server;
  const proc = await startComponent(
    t,
    'tls-proxy',
    [
      '--listen',
      '127.0.0.1:0',
      '--upstream',
      upstream,
      '--cert-file',
      cert.chain,
      '--key-file',
      cert.key,
      '--termination-log',
      join(pki.dir, 'termination-log'),
      ...args,
    ],
    { ready: options.ready ?? true, ...(options.env ? { env: options.env } : {}) },
  );
  const address = await proc.address('tls');
  const port = Number(address.split(':').at(-1));
  return Object.assign(proc, { url: `https://127.0.0.1:${port}`, port });
}

export interface HttpsResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  fingerprint: string;
}

/** An HTTPS request with node's client, trusting only the test CA. */
export function httpsRequest(
  url: string,
  pki: TestPki,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent;
    client?: CertFiles;
    timeoutMs?: number;
  } = {},
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: readCa(pki),
        ...(options.agent ? { agent: options.agent } : {}),
        ...(options.client ? { cert: read(options.client.cert), key: read(options.client.key) } : {}),
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const fingerprint =
          (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256 ?? '';
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

function read(path: string): Buffer {
  return readFileSync(path);
}

function readCa(pki: TestPki): Buffer {
  return read(pki.caFile);
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command (curl, openssl) with optional stdin and returns its exit code and output. */
export function run(command: string, args: string[], input?: string, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({
          code: typeof code === 'number' ? code : 1,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

/** A metric's value from Prometheus text, 0 when the series is absent. */
export function metricValue(text: string, series: string): number {
  const escaped = series.replace(/[{}()[\].*+?^$|\\"]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

export async function metrics(proxy: Started): Promise<string> {
  return (await fetch(`${proxy.adminUrl}/metrics`)).text();
}
