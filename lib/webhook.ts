/**
 * HTTP notifications (a reload URL, a post-sync webhook): bounded by a timeout, retried with backoff
 * on network errors and 5xx, never on 4xx (a bad request stays bad). Uses Node's built-in fetch
 * (undici), which is kept with Node itself.
 */

import { Backoff, pause } from './backoff.js';
import { describeError, ErrorCode, PodkitError } from './errors.js';
import { redactUrl } from './option-types.js';

export interface WebhookOptions {
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

export async function callWebhook(options: WebhookOptions): Promise<WebhookResult> {
  const attempts = options.attempts ?? 3;
  const backoff = options.backoff ?? new Backoff({ initialMs: 200, maxMs: 5000 });
  const target = `${options.method ?? 'POST'} ${redactUrl(options.url)}`;
  const { url, headers } = withBasicAuth(options.url, options.headers);
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await fetch(url, {
        method: options.method ?? 'POST',
        headers,
        ...(options.body === undefined ? {} : { body: options.body }),
        signal: AbortSignal.any([
          AbortSignal.timeout(options.timeoutMs ?? 5000),
          ...(options.signal ? [options.signal] : []),
        ]),
        redirect: 'manual',
      });
      await response.body?.cancel();
      const ok = options.successStatus ? response.status === options.successStatus : response.ok;
      if (ok) return { status: response.status, attempts: attempt };
      lastError = `HTTP ${response.status}`;
      if (response.status < 500) break;
    } catch (err) {
      lastError = describeError(err);
    }
    if (options.signal?.aborted) break;
    if (attempt < attempts) await pause(backoff.next(), options.signal);
  }
  throw new PodkitError(ErrorCode.WEBHOOK, `${target} failed: ${lastError}`);
}

/** fetch refuses URLs with credentials; users write them that way, so move them into a header. */
function withBasicAuth(
  url: URL,
  headers: Record<string, string> = {},
): { url: URL; headers: Record<string, string> } {
  if (!url.username && !url.password) return { url, headers };
  const bare = new URL(url.toString());
  bare.username = '';
  bare.password = '';
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return {
    url: bare,
    headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}`, ...headers },
  };
}
