/**
 * The http source: a URL polled with conditional GETs (If-None-Match / If-Modified-Since) over a
 * kept-alive connection (lib/http-client.ts), so an unchanged configuration costs a 304 and no parsing. Error answers and unreachable servers are reported
 * and the last good configuration stays. The payload is a JSON object of file name -> text, or, with
 * --http-key, the body itself as one file.
 */

import { ErrorCode, PodkitError } from '../../../lib/errors.js';
import { type HttpClient, type HttpResponse, RequestError } from '../../../lib/http-client.js';
import { redactUrl } from '../../../lib/option-types.js';
import type { Secret } from '../../../lib/secret.js';
import { type Snapshot, snapshot } from './snapshot.js';
import type { Source, SourceEvents } from './source.js';
import { withoutContent } from './validate.js';

/** ConfigMaps are limited to 1 MiB; a configuration many times that is a mistake, not a config. */
const maxBodyBytes = 16 * 1024 * 1024;

export class PayloadError extends PodkitError {
  constructor(message: string) {
    super(ErrorCode.SOURCE, message);
    this.name = 'PayloadError';
  }
}

/** The files in a response body. Throws PayloadError when it is not the documented format. */
export function parsePayload(body: Buffer, httpKey?: string): Map<string, Buffer> {
  if (httpKey !== undefined) return new Map([[httpKey, body]]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new PayloadError(
      `the body is not JSON (${withoutContent((err as Error).message)}); set --http-key to publish it as one file`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PayloadError('expected a JSON object of file name -> text');
  }
  const files = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      throw new PayloadError(`the value of ${JSON.stringify(key)} is ${typeof value}, expected text`);
    }
    files.set(key, Buffer.from(value, 'utf8'));
  }
  return files;
}

export interface HttpSourceOptions {
  url: URL;
  httpKey?: string | undefined;
  token: Secret;
  /** Shared with the health gate and the webhook: one private CA, one keep-alive pool. */
  client: HttpClient;
  pollIntervalMs: number;
  requestTimeoutMs: number;
}

type Answer = { kind: 'unchanged' } | { kind: 'body'; body: Buffer };

export class HttpSource implements Source {
  readonly #options: HttpSourceOptions;
  #etag: string | undefined;
  #lastModified: string | undefined;
  #events: SourceEvents | undefined;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;

  constructor(options: HttpSourceOptions) {
    this.#options = options;
  }

  get description(): string {
    return redactUrl(this.#options.url);
  }

  async read(): Promise<Snapshot> {
    const answer = await this.#get(false);
    if (answer.kind !== 'body')
      throw new PodkitError(ErrorCode.SOURCE, 'unexpected 304 to an unconditional GET');
    return snapshot(parsePayload(answer.body, this.#options.httpKey));
  }

  async start(events: SourceEvents): Promise<void> {
    this.#events = events;
    this.refresh();
  }

  refresh(): void {
    this.#etag = undefined;
    this.#lastModified = undefined;
    this.#pollNow();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#polling;
  }

  #pollNow(): void {
    if (this.#closed || this.#polling) return;
    clearTimeout(this.#timer);
    this.#polling = this.#poll().finally(() => {
      this.#polling = undefined;
      if (this.#closed) return;
      this.#timer = setTimeout(() => this.#pollNow(), this.#options.pollIntervalMs);
    });
  }

  async #poll(): Promise<void> {
    const events = this.#events;
    if (!events) return;
    let answer: Answer;
    try {
      answer = await this.#get(true);
    } catch (err) {
      if (!this.#closed) events.error(err as Error);
      return;
    }
    if (this.#closed) return;
    if (answer.kind === 'unchanged') return events.unchanged();
    let files: Map<string, Buffer>;
    try {
      files = parsePayload(answer.body, this.#options.httpKey);
    } catch (err) {
      return events.invalid((err as Error).message);
    }
    events.snapshot(snapshot(files));
  }

  async #get(conditional: boolean): Promise<Answer> {
    const { url, token, requestTimeoutMs, client } = this.#options;
    const headers: Record<string, string> = { accept: this.#options.httpKey ? '*/*' : 'application/json' };
    if (conditional && this.#etag) headers['if-none-match'] = this.#etag;
    if (conditional && this.#lastModified) headers['if-modified-since'] = this.#lastModified;
    const bearer = await token.read();
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    let response: HttpResponse;
    try {
      response = await client.request(url, { headers, timeoutMs: requestTimeoutMs, maxBodyBytes });
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      throw new PodkitError(ErrorCode.SOURCE, err.message, { cause: err });
    }
    const { status, body } = response;
    if (status === 304 && conditional) return { kind: 'unchanged' };
    if (status !== 200) {
      const text = body.toString('utf8').trim().replace(/\s+/g, ' ').slice(0, 200);
      throw new PodkitError(
        ErrorCode.SOURCE,
        `GET ${redactUrl(url)}: HTTP ${status}${text ? ` ${text}` : ''}`,
      );
    }
    this.#etag = header(response.headers.etag);
    this.#lastModified = header(response.headers['last-modified']);
    return { kind: 'body', body };
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
