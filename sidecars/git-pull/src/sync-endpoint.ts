/**
 * `POST /sync` on the admin port: sync now instead of at the next period (what git-sync declined in
 * #149), so a CI job can deploy right after its push and learn the result. With a token (re-read per
 * request, compared in constant time) it requires `Authorization: Bearer <token>`; either way accepted
 * requests are rate-limited, so a loop calling it cannot turn the sidecar into a load on the git server.
 *
 * Answers: 200 {result: success|noop, hash} once the sync is done; 502 {result: error, code, error};
 * 401 without the right token; 429 with Retry-After; 503 while shutting down.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeError, ErrorCode } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { Secret } from '../../../lib/secret.js';
import type { GitPullMetrics } from './metrics.js';
import type { SyncOutcome } from './sync-loop.js';

export interface SyncEndpointOptions {
  token: Secret;
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

export function registerSyncEndpoint(admin: FastifyInstance, options: SyncEndpointOptions): void {
  const now = options.now ?? Date.now;
  let lastAccepted = Number.NEGATIVE_INFINITY;
  const { metrics } = options;
  const refuse = (reply: FastifyReply, status: number, code: string, error: string, result: string) => {
    metrics.syncRequests.inc({ result });
    return reply.code(status).send({ code, error });
  };

  // The body means nothing here, whatever its type: CI tools and git servers' webhooks send JSON (or
  // an empty body labelled JSON, which fastify would answer with 400). In its own scope, so the rest of
  // the admin server keeps fastify's parsers.
  admin.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    scope.post('/sync', handler);
  });

  async function handler(request: FastifyRequest, reply: FastifyReply) {
    if (!options.accepting()) return refuse(reply, 503, ErrorCode.GIT, 'shutting down', 'unavailable');
    if (options.token.isSet) {
      let expected: string | undefined;
      try {
        expected = await options.token.read();
      } catch (err) {
        options.log.error(
          { err: describeError(err), origin: options.token.origin },
          'cannot read the sync token',
        );
        return refuse(reply, 503, ErrorCode.UNAUTHORIZED, 'the sync token cannot be read', 'unavailable');
      }
      const given = bearerToken(request.headers.authorization);
      if (given === undefined || expected === undefined || !tokensMatch(given, expected)) {
        reply.header('www-authenticate', 'Bearer realm="git-pull"');
        return refuse(
          reply,
          401,
          ErrorCode.UNAUTHORIZED,
          'POST /sync needs Authorization: Bearer <token>',
          'unauthorized',
        );
      }
    }
    const waitMs = lastAccepted + options.minIntervalMs - now();
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(waitMs / 1000))));
      return refuse(
        reply,
        429,
        ErrorCode.RATE_LIMITED,
        `one sync request per ${options.minIntervalMs} ms`,
        'rate_limited',
      );
    }
    lastAccepted = now();
    metrics.syncRequests.inc({ result: 'accepted' });
    const outcome = await options.requestSync();
    const durationMs = Math.round(outcome.durationMs);
    if (outcome.result === 'error') {
      return reply.code(502).send({ result: 'error', code: outcome.code, error: outcome.error, durationMs });
    }
    return reply.code(200).send({ result: outcome.result, hash: outcome.hash, durationMs });
  }
}
