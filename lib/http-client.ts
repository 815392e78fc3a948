/**
 * The one HTTP client for requests podkit makes to other services: config URLs, health URLs, webhooks,
 * the exec probe. Built on node:http (node:https loaded on the first https URL) with a keep-alive agent
 * per client, so a one-shot exec probe loads nothing more than a GET needs.
 *
 * Every request has a deadline (connect to last body byte) and may be aborted; its body is bounded;
 * redirects are returned, never followed (a 3xx is the answer); https insists on TLS 1.2+ and trusts
 * only the given CA bundle when there is one. Credentials written into a URL go in a Basic header and
 * are redacted from every message.
 */

import { readFile } from 'node:fs/promises';
import {
  Agent,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
} from 'node:http';
import type * as Https from 'node:https';
import { describeError } from './errors.js';
import { redactUrl } from './option-types.js';

export interface HttpClientOptions {
  /** PEM CA bundle that https servers must chain to, instead of the system CAs. */
  caFile?: string | undefined;
  /** Keep connections open between requests (default); a one-shot caller has no next request. */
  keepAlive?: boolean;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The deadline of the whole exchange, from connecting to the last body byte. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** The largest body kept (default 1 MiB): a longer one fails the request, or with `truncate` is cut. */
  maxBodyBytes?: number;
  truncate?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Why a request failed: `timeout` (its deadline), `aborted` (the caller's signal), `too-large`, `network`. */
export type RequestFailure = 'timeout' | 'aborted' | 'too-large' | 'network';

export class RequestError extends Error {
  constructor(
    readonly kind: RequestFailure,
    /** `GET https://user:redacted@host/path`. */
    readonly target: string,
    /** What went wrong, without the target: `connect ECONNREFUSED 127.0.0.1:1`. */
    readonly detail: string,
  ) {
    super(`${target}: ${detail}`);
    this.name = 'RequestError';
  }
}

const defaultMaxBodyBytes = 1024 * 1024;

export class HttpClient {
  readonly #options: HttpClientOptions;
  #http: Agent | undefined;
  #https: Promise<{ agent: Https.Agent; request: typeof Https.request }> | undefined;

  constructor(options: HttpClientOptions = {}) {
    this.#options = options;
  }

  async request(url: URL, options: RequestOptions): Promise<HttpResponse> {
    const method = options.method ?? 'GET';
    const target = `${method} ${redactUrl(url)}`;
    const hide = (text: string) => redactCredentials(text, url);
    const { bare, headers } = withBasicAuth(url, options.headers);
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    const failure = (kind: RequestFailure, detail: string) => new RequestError(kind, target, hide(detail));
    const aborted = () =>
      deadline.aborted
        ? failure('timeout', `timeout: no complete answer within ${options.timeoutMs} ms`)
        : failure('aborted', 'aborted');
    if (signal.aborted) throw aborted();

    let transport: Transport;
    try {
      transport = await this.#transport(bare);
    } catch (err) {
      throw failure('network', describeError(err));
    }
    const exchangeOptions: Exchange = {
      method,
      headers,
      agent: transport.agent,
      body: options.body,
      signal,
      maxBodyBytes: options.maxBodyBytes ?? defaultMaxBodyBytes,
      truncate: options.truncate ?? false,
    };
    for (let attempt = 1; ; attempt++) {
      const sent = { reusedSocket: false };
      try {
        return await exchange(transport.request, bare, exchangeOptions, sent);
      } catch (err) {
        if (signal.aborted) throw aborted();
        if (err instanceof BodyTooLarge) throw failure('too-large', err.message);
        // A kept-alive connection the server closed just as it was reused: once more on a new one
        // (Node's advice), for requests that may be repeated.
        const stale = sent.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET';
        if (stale && attempt === 1 && (method === 'GET' || method === 'HEAD')) continue;
        throw failure('network', describeError(err));
      }
    }
  }

  /** Closes kept-alive connections; requests in flight are not waited for. */
  close(): void {
    this.#http?.destroy();
    void this.#https?.then(({ agent }) => agent.destroy()).catch(() => {});
  }

  async #transport(url: URL): Promise<Transport> {
    const keepAlive = this.#options.keepAlive ?? true;
    if (url.protocol === 'http:') {
      this.#http ??= new Agent({ keepAlive });
      return { agent: this.#http, request };
    }
    if (url.protocol !== 'https:') throw new Error(`cannot request ${url.protocol} URLs`);
    this.#https ??= (async () => {
      const { caFile } = this.#options;
      const ca = caFile
        ? await readFile(caFile).catch((err: NodeJS.ErrnoException) => {
            throw new Error(`cannot read the CA file ${caFile}: ${err.code ?? err.message}`);
          })
        : undefined;
      const https = await import('node:https');
      const agent = new https.Agent({ keepAlive, minVersion: 'TLSv1.2', ...(ca ? { ca } : {}) });
      return { agent, request: https.request };
    })();
    // An unreadable CA file is retried by the next request rather than remembered.
    const transport = await this.#https.catch((err: unknown) => {
      this.#https = undefined;
      throw err;
    });
    // node:https's request and agent are node:http's with TLS options; one signature serves both.
    return transport as unknown as Transport;
  }
}

interface Transport {
  agent: Agent;
  request: typeof request;
}

class BodyTooLarge extends Error {}

interface Exchange {
  method: string;
  headers: Record<string, string>;
  agent: Agent;
  body: string | Buffer | undefined;
  signal: AbortSignal;
  maxBodyBytes: number;
  truncate: boolean;
}

/** One request and its answer; `sent` tells whether it went on a kept-alive connection. */
function exchange(
  send: typeof request,
  url: URL,
  o: Exchange,
  sent: { reusedSocket: boolean },
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | undefined;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (err: Error) => settle(() => reject(err));
    function onAbort() {
      req?.destroy();
      fail(new Error('aborted'));
    }
    o.signal.addEventListener('abort', onAbort, { once: true });
    req = send(url, { method: o.method, headers: o.headers, agent: o.agent }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const answer = () =>
        settle(() =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      res.on('data', (chunk: Buffer) => {
        if (size + chunk.length > o.maxBodyBytes) {
          if (o.truncate) {
            chunks.push(chunk.subarray(0, o.maxBodyBytes - size));
            size = o.maxBodyBytes;
            answer();
          } else {
            fail(new BodyTooLarge(`the body is larger than ${o.maxBodyBytes} bytes`));
          }
          // The rest is not wanted, and the connection cannot be reused before it is read.
          res.destroy();
          return;
        }
        size += chunk.length;
        chunks.push(chunk);
      });
      res.on('end', answer);
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error('the connection closed before the body was complete'));
      });
    });
    req.on('socket', () => {
      sent.reusedSocket = req?.reusedSocket ?? false;
    });
    req.on('error', fail);
    req.end(o.body);
  });
}

/** Credentials written into a URL become a Basic header (unless the caller sets its own). */
function withBasicAuth(
  url: URL,
  headers: Record<string, string> = {},
): { bare: URL; headers: Record<string, string> } {
  if (!url.username && !url.password) return { bare: url, headers };
  const bare = new URL(url.toString());
  bare.username = '';
  bare.password = '';
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return {
    bare,
    headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}`, ...headers },
  };
}

/** Belt and braces: a password from the URL never leaves in a message, however an error spelled it. */
function redactCredentials(text: string, url: URL): string {
  if (!url.password) return text;
  let safe = text;
  for (const form of new Set([url.password, decodeURIComponent(url.password)])) {
    if (form) safe = safe.split(form).join('redacted');
  }
  return safe;
}
