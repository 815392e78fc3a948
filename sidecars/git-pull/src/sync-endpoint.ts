/**
 * `POST /sync` on the admin port: sync now instead of at the next period (what git-sync declined in
 * #149), so a CI job can deploy right after its push and learn the result. The admin port listens on
 * every address (the kubelet probes the pod IP), so the endpoint is off unless asked for: token holders
 * (`--sync-token-file`, re-read per request, compared in constant time) and, with `--sync-open`, callers
 * without a token. Each of those two groups has its own rate limit, so outsiders hammering an open
 * endpoint never take the token holders' turn.
 *
 * Answers: 200 {result: success|noop, hash} once the sync is done; 502 {result: error, code, error};
 * 401 with a missing or wrong token; 403 while the endpoint is off; 429 with Retry-After; 503 while
 * shutting down.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminAnswer, AdminServer } from '../../../lib/admin.js';
import { describeError, ErrorCode } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { Secret } from '../../../lib/secret.js';
import type { GitPullMetrics } from './metrics.js';
import type { SyncOutcome } from './sync-loop.js';

export interface SyncEndpointOptions {
  token: Secret;
  /** Requests without a token are accepted too (--sync-open). */
  open: boolean;
  minIntervalMs: number;
  requestSync(): Promise<SyncOutcome>;
  /** False while draining: no new work is taken. */
  accepting(): boolean;
  log: Logger;
  metrics: GitPullMetrics;
  now?: () => number;
}

/** Equal-length digests, so the comparison takes the same time whatever the guess. */
export function tokensMatch(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected)) && expected !== '';
}

export function bearerToken(header: string | undefined): string | undefined {
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/** Who is asking: the two groups the rate limit keeps apart. */
type Caller = 'token' | 'open';

export function registerSyncEndpoint(admin: AdminServer, options: SyncEndpointOptions): void {
  const now = options.now ?? Date.now;
  const lastAccepted: Record<Caller, number> = {
    token: Number.NEGATIVE_INFINITY,
    open: Number.NEGATIVE_INFINITY,
  };
  const { metrics } = options;
  const refuse = (
    status: number,
    code: string,
    error: string,
    result: string,
    headers?: Record<string, string>,
  ): AdminAnswer => {
    metrics.syncRequests.inc({ result });
    return { status, body: { code, error }, headers };
  };
  const unauthorized = () =>
    refuse(401, ErrorCode.UNAUTHORIZED, 'POST /sync needs Authorization: Bearer <token>', 'unauthorized', {
      'www-authenticate': 'Bearer realm="git-pull"',
    });

  /** The caller's group, or the refusal: a token that is given must be right, even when open. */
  const identify = async (request: IncomingMessage): Promise<Caller | AdminAnswer> => {
    const given = options.token.isSet ? bearerToken(request.headers.authorization) : undefined;
    if (given === undefined) {
      if (options.open) return 'open';
      if (options.token.isSet) return unauthorized();
      return refuse(
        403,
        ErrorCode.UNAUTHORIZED,
        'POST /sync is off: start git-pull with --sync-token-file (or --sync-open)',
        'disabled',
      );
    }
    let expected: string | undefined;
    try {
      expected = await options.token.read();
    } catch (err) {
      options.log.error(
        { err: describeError(err), origin: options.token.origin },
        'cannot read the sync token',
      );
      return refuse(503, ErrorCode.UNAUTHORIZED, 'the sync token cannot be read', 'unavailable');
    }
    return expected !== undefined && tokensMatch(given, expected) ? 'token' : unauthorized();
  };

  // Whatever body comes (CI tools and git servers' webhooks send JSON, or nothing labelled as JSON) is
  // left unread: it means nothing here.
  admin.post('/sync', async (request: IncomingMessage): Promise<AdminAnswer> => {
    if (!options.accepting()) return refuse(503, ErrorCode.GIT, 'shutting down', 'unavailable');
    const caller = await identify(request);
    if (typeof caller !== 'string') return caller;
    const waitMs = lastAccepted[caller] + options.minIntervalMs - now();
    if (waitMs > 0) {
      metrics.limitRejections.inc({ limit: 'sync_min_interval' });
      return refuse(
        429,
        ErrorCode.RATE_LIMITED,
        `one sync request per ${options.minIntervalMs} ms`,
        'rate_limited',
        { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
      );
    }
    lastAccepted[caller] = now();
    metrics.syncRequests.inc({ result: 'accepted' });
    const outcome = await options.requestSync();
    const durationMs = Math.round(outcome.durationMs);
    if (outcome.result === 'error') {
      return {
        status: 502,
        body: { result: 'error', code: outcome.code, error: outcome.error, durationMs },
      };
    }
    return { status: 200, body: { result: outcome.result, hash: outcome.hash, durationMs } };
  });
}
