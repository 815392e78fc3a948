/**
 * Was the reload good? Poll the app's health URL until it has answered 2xx for `stableMs` without a
 * single failure, or give up at `timeoutMs`. One healthy answer is not enough: right after a SIGHUP
 * the app may not have handled the signal yet and still answers for the old configuration.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { type HttpClient, RequestError } from '../../../lib/http-client.js';

export interface HealthGateOptions {
  url: URL;
  client: HttpClient;
  timeoutMs: number;
  stableMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

export interface HealthVerdict {
  healthy: boolean;
  /** The last answer: `HTTP 503 {"status":"config-error"...}` or a connection error. */
  last: string;
  checks: number;
}

/** One probe's own limit; a hanging app is a failed probe. */
const probeTimeoutMs = 2000;

/** The start of an answer's body is kept for the log (a 503's reason); the rest is not read. */
const bodyBytes = 1024;

async function probe(
  client: HttpClient,
  url: URL,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ ok: boolean; text: string; timedOut: boolean }> {
  try {
    const response = await client.request(url, {
      timeoutMs,
      signal,
      maxBodyBytes: bodyBytes,
      truncate: true,
    });
    const body = response.body.toString('utf8').trim().slice(0, 200);
    const ok = response.status >= 200 && response.status < 300;
    return { ok, text: `HTTP ${response.status}${body ? ` ${body}` : ''}`, timedOut: false };
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    return { ok: false, text: err.detail, timedOut: err.kind === 'timeout' };
  }
}

export async function awaitHealthy(options: HealthGateOptions): Promise<HealthVerdict> {
  const intervalMs = options.intervalMs ?? 100;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let healthySince: number | undefined;
  let last = 'not checked';
  let lastFailed = false;
  let checks = 0;
  while (!options.signal?.aborted) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const timeoutMs = Math.min(probeTimeoutMs, remaining);
    const answer = await probe(options.client, options.url, timeoutMs, options.signal);
    // A probe cut short by the gate's own deadline says nothing new about an app that was already
    // failing: the verdict keeps its real answer (the 503 body is what the rollback log should show).
    if (answer.timedOut && timeoutMs < probeTimeoutMs && lastFailed) break;
    checks += 1;
    lastFailed = !answer.ok;
    last = answer.text;
    const now = Date.now();
    if (answer.ok) {
      healthySince ??= now;
      if (now - healthySince >= options.stableMs) return { healthy: true, last, checks };
    } else {
      healthySince = undefined;
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), undefined, {
      signal: options.signal,
    }).catch(() => {});
  }
  return { healthy: false, last, checks };
}
