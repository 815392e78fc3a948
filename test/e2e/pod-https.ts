/**
 * Requests through the played pod's HTTPS entry point (tls-proxy), each on a fresh connection so nothing
 * keeps the pod from stopping: HTTP/1.1 trusting only the test CA, with or without a client certificate,
 * and HTTP/2 (ALPN h2 only).
 */

import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { IssuedCert } from '../support/certs.js';

export interface TlsAnswer {
  status: number;
  body: string;
}

/** GET over HTTPS trusting only `ca`, presenting `client` if given, on a fresh connection. */
export function httpsGet(
  url: string,
  ca: string,
  client?: IssuedCert,
  timeoutMs = 10_000,
): Promise<TlsAnswer> {
  return httpsCall('GET', url, ca, client, undefined, timeoutMs);
}

/** One request over HTTPS trusting only `ca`, presenting `client` if given, on a fresh connection. */
export function httpsCall(
  method: string,
  url: string,
  ca: string,
  client?: IssuedCert,
  body?: string,
  timeoutMs = 10_000,
  headers: Record<string, string> = {},
): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const options = {
      method,
      headers,
      ca,
      cert: client?.chainPem,
      key: client?.keyPem,
      agent: false,
      timeout: timeoutMs,
    };
    const req = httpsRequest(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** GET / over HTTP/2 (ALPN h2 only), with the client certificate. */
export function http2Get(
  origin: string,
  ca: string,
  client: IssuedCert,
): Promise<TlsAnswer & { alpn: string }> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(origin, {
      ca,
      cert: client.chainPem,
      key: client.keyPem,
      ALPNProtocols: ['h2'],
    });
    session.on('error', reject);
    const stream = session.request({ ':path': '/' });
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('data', (chunk) => {
      body += chunk;
    });
    stream.on('end', () => {
      const alpn = session.alpnProtocol ?? '';
      session.close();
      resolve({ status, body, alpn });
    });
    stream.on('error', reject);
  });
}
