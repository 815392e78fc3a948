/**
 * Bearer tokens for state-changing admin routes: the token comes from a Secret (re-read per request,
 * so a rotated Kubernetes Secret takes effect) and is compared in constant time.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminAnswer } from './admin.js';
import { describeError, ErrorCode } from './errors.js';
import type { Logger } from './log.js';
import type { Secret } from './secret.js';

/** Equal-length digests, so the comparison takes the same time whatever the guess. */
export function tokensMatch(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected)) && expected !== '';
}

export function bearerToken(header: string | undefined): string | undefined {
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/**
 * Undefined when `request` may go on (no token configured, or the right one given); otherwise the
 * answer to send: 401 with WWW-Authenticate, or 503 when the token file cannot be read.
 */
export async function checkBearer(
  request: IncomingMessage,
  token: Secret,
  what: { route: string; realm: string; log: Logger },
): Promise<AdminAnswer | undefined> {
  if (!token.isSet) return undefined;
  let expected: string | undefined;
  try {
    expected = await token.read();
  } catch (err) {
    what.log.error(
      { err: describeError(err), origin: token.origin },
      `cannot read the token of ${what.route}`,
    );
    return {
      status: 503,
      body: { code: ErrorCode.UNAUTHORIZED, error: `the token of ${what.route} cannot be read` },
    };
  }
  const given = bearerToken(request.headers.authorization);
  if (given !== undefined && expected !== undefined && tokensMatch(given, expected)) return undefined;
  what.log.warn({ code: ErrorCode.UNAUTHORIZED, route: what.route }, 'admin request without the right token');
  return {
    status: 401,
    body: { code: ErrorCode.UNAUTHORIZED, error: `${what.route} needs Authorization: Bearer <token>` },
    headers: { 'www-authenticate': `Bearer realm="${what.realm}"` },
  };
}
