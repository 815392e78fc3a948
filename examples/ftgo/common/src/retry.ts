/**
 * Keeps trying to reach a dependency (the database, the broker) that may not be up yet: in a pod set they
 * start together, so a service waits for them instead of exiting. Each failure is one warn line with its
 * reason, then a capped, jittered pause (lib/backoff).
 */

import type { Logger } from 'pino';
import { Backoff, pause } from '../../../../lib/backoff.js';

export interface RetryOptions {
  readonly log: Logger;
  /** Aborted when the service stops: the loop ends and resolves undefined. */
  readonly signal: AbortSignal;
  /** Where the dependency is, as it may be logged (no password). */
  readonly target: string;
  /** Texts never to log (a password an error message might quote). */
  readonly secrets?: readonly string[];
}

/** First retry after 125-250 ms, the ceiling doubling to 5 s. */
export const retryBackoff = { initialMs: 250, maxMs: 5000 } as const;

/** Runs `attempt` until it resolves, and resolves with its value; undefined once `signal` aborts. */
export async function keepTrying<T>(
  what: string,
  attempt: () => Promise<T>,
  { log, signal, target, secrets = [] }: RetryOptions,
): Promise<T | undefined> {
  const backoff = new Backoff(retryBackoff);
  while (!signal.aborted) {
    try {
      return await attempt();
    } catch (err) {
      if (signal.aborted) break;
      const retryInMs = backoff.next();
      log.warn(
        { target, attempt: backoff.attempts, retryInMs, reason: scrub(reasonOf(err), secrets) },
        `cannot reach ${what}; retrying`,
      );
      await pause(retryInMs, signal);
    }
  }
  return undefined;
}

/** An error's message; a refused dual-stack connect is an AggregateError whose own message is empty. */
export function reasonOf(err: unknown): string {
  if (err instanceof AggregateError && !err.message)
    return err.errors.map((inner: unknown) => reasonOf(inner)).join('; ');
  if (err instanceof Error) return err.message || String((err as { code?: unknown }).code ?? err.name);
  return String(err);
}

function scrub(text: string, secrets: readonly string[]): string {
  let scrubbed = text;
  for (const secret of secrets) if (secret) scrubbed = scrubbed.split(secret).join('[redacted]');
  return scrubbed;
}

/** The password in `raw` as written and decoded, for `RetryOptions.secrets`. */
export function urlSecrets(raw: string): string[] {
  const { password } = new URL(raw);
  return password ? [password, decodeURIComponent(password)] : [];
}
