/**
 * Failures as a person on call reads them: one line, the cause first, a hint where the fix is usually
 * the same (credentials, grants, the host name), never a stack trace. Everything else keeps the
 * server's own code and message, which are already precise. That line goes to the log; the probe
 * bodies, which anyone reaching the admin port can read, get only the short fixed `publicReason`.
 */

import { describeError } from '../../../lib/errors.js';

/** What an unauthenticated probe reader may learn about a failure: a fixed phrase, nothing the server said. */
export type PublicReason =
  | 'database unreachable'
  | 'TLS failed'
  | 'access denied'
  | 'unknown database'
  | 'timed out'
  | 'query failed'
  | 'unexpected result'
  | 'shutting down'
  | 'not run: database-up failed'
  | 'not run yet';

export interface Failure {
  reason: string;
  publicReason: PublicReason;
  /** The check ran out of time (ours or the server's max_statement_time): reported as "timeout". */
  timedOut: boolean;
}

/** MariaDB's ER_STATEMENT_TIMEOUT, which mysql2 reports without a code name. */
const statementTimeout = 1969;
const passwordHint = 'check --mysql-password-file or PODKIT_MYSQL_PASSWORD, and the user@host grant';

export function timeoutFailure(timeoutMs: number): Failure {
  return { reason: `timeout after ${timeoutMs} ms`, publicReason: 'timed out', timedOut: true };
}

export function describeMysqlError(err: unknown, server: string, timeoutMs: number): Failure {
  const { code, errno, message, hostname } = err as {
    code?: string;
    errno?: number;
    message?: string;
    hostname?: string;
  };
  const text = message ?? describeError(err);
  const failure =
    (publicReason: PublicReason) =>
    (line: string): Failure => ({ reason: line, publicReason, timedOut: false });
  const unreachable = failure('database unreachable');
  const denied = failure('access denied');
  const tls = failure('TLS failed');
  if (errno === statementTimeout || code === 'ETIMEDOUT') return timeoutFailure(timeoutMs);
  switch (code) {
    case 'ECONNREFUSED':
      return unreachable(`connection refused by ${server}: is the database running and listening there?`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return unreachable(
        `unknown host ${JSON.stringify(hostname ?? server)}: the name does not resolve (${code})`,
      );
    case 'ECONNRESET':
    case 'PROTOCOL_CONNECTION_LOST':
      return unreachable(`the connection to ${server} was closed by the server (${code})`);
    case 'ER_ACCESS_DENIED_ERROR':
      return denied(`access denied: ${text} (${passwordHint})`);
    case 'ER_HOST_NOT_PRIVILEGED':
      return denied(`access denied: ${text} (the user has no grant for this client host)`);
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
    case 'ER_COLUMNACCESS_DENIED_ERROR':
      return denied(`access denied: ${text} (grant the check's user what this query needs)`);
    case 'ER_BAD_DB_ERROR':
      return failure('unknown database')(
        `unknown database: ${text} (the database in --mysql-url does not exist)`,
      );
    case 'HANDSHAKE_NO_SSL_SUPPORT':
      return tls(`TLS: ${server} does not offer TLS, which --mysql-ca-file requires`);
    case 'HANDSHAKE_SSL_ERROR':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return tls(
        `TLS: the server's certificate is not accepted: ${text} (check --mysql-ca-file and the host in --mysql-url)`,
      );
    case 'ER_CON_COUNT_ERROR':
      return unreachable(`the server refused the connection: ${text}`);
    default:
      return (isServerError(err) ? failure('query failed') : unreachable)(describeError(err));
  }
}

/** The server answered with an error of its own (it has an SQL state): the query, not the link, failed. */
export function isServerError(err: unknown): boolean {
  return typeof (err as { sqlState?: unknown }).sqlState === 'string';
}
