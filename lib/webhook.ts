/**
 * HTTP notifications (a webhook after an update): bounded by a timeout, retried with backoff on network
 * errors and 5xx, never on 4xx (a bad request stays bad), through lib/http-client.ts.
 */

import { Backoff, pause } from './backoff.js';
import { ErrorCode, PodkitError } from './errors.js';
import { type HttpClient, RequestError } from './http-client.js';
import { redactUrl } from './option-types.js';

export interface WebhookOptions {
  client: HttpClient;
  url: URL;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  /** Tries in all, including the first. */
  attempts?: number;
  /** The status that counts as success; default any 2xx. */
  successStatus?: number;
  backoff?: Backoff;
  signal?: AbortSignal;
}

export interface WebhookResult {
  status: number;
  attempts: number;
}

/** A webhook's answer body is not used: only its start is read, so a chatty endpoint costs nothing. */
const answerBytes = 1024;

export async function callWebhook(options: WebhookOptions): Promise<WebhookResult> {
  const attempts = options.attempts ?? 3;
  const backoff = options.backoff ?? new Backoff({ initialMs: 200, maxMs: 5000 });
  const method = options.method ?? 'POST';
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await options.client.request(options.url, {
        method,
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.body === undefined ? {} : { body: options.body }),
        timeoutMs: options.timeoutMs ?? 5000,
        signal: options.signal,
        maxBodyBytes: answerBytes,
        truncate: true,
      });
      const { status } = response;
      const ok = options.successStatus ? status === options.successStatus : status >= 200 && status < 300;
      if (ok) return { status, attempts: attempt };
      lastError = `HTTP ${status}`;
      if (status < 500) break;
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      lastError = err.detail;
    }
    if (options.signal?.aborted) break;
    if (attempt < attempts) await pause(backoff.next(), options.signal);
  }
  throw new PodkitError(ErrorCode.WEBHOOK, `${method} ${redactUrl(options.url)} failed: ${lastError}`);
}
