/**
 * Failures as a person on call reads them: one line, the cause first, a hint where the fix is usually
 * the same (credentials, grants, the host name), never a stack trace. Everything else keeps the
 * server's own code and message, which are already precise.
 */

import { describeError } from '../../../lib/errors.js';

export interface Failure {
  reason: string;
  /** The check ran out of time (ours or the server's max_statement_time): reported as "timeout". */
  timedOut: boolean;
}

/** MariaDB's ER_STATEMENT_TIMEOUT, which mysql2 reports without a code name. */
const statementTimeout = 1969;
const passwordHint = 'check --mysql-password-file or PODKIT_MYSQL_PASSWORD, and the user@host grant';

export function timeoutFailure(timeoutMs: number): Failure {
  return { reason: `timeout after ${timeoutMs} ms`, timedOut: true };
}

export function describeMysqlError(err: unknown, server: string, timeoutMs: number): Failure {
  const { code, errno, message, hostname } = err as {
    code?: string;
    errno?: number;
    message?: string;
    hostname?: string;
  };
  const text = message ?? describeError(err);
  const reason = (line: string): Failure => ({ reason: line, timedOut: false });
  if (errno === statementTimeout || code === 'ETIMEDOUT') return timeoutFailure(timeoutMs);
  switch (code) {
    case 'ECONNREFUSED':
      return reason(`connection refused by ${server}: is the database running and listening there?`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return reason(
        `unknown host ${JSON.stringify(hostname ?? server)}: the name does not resolve (${code})`,
      );
    case 'ECONNRESET':
    case 'PROTOCOL_CONNECTION_LOST':
      return reason(`the connection to ${server} was closed by the server (${code})`);
    case 'ER_ACCESS_DENIED_ERROR':
      return reason(`access denied: ${text} (${passwordHint})`);
    case 'ER_HOST_NOT_PRIVILEGED':
      return reason(`access denied: ${text} (the user has no grant for this client host)`);
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
    case 'ER_COLUMNACCESS_DENIED_ERROR':
      return reason(`access denied: ${text} (grant the check's user what this query needs)`);
    case 'ER_BAD_DB_ERROR':
      return reason(`unknown database: ${text} (the database in --mysql-url does not exist)`);
    case 'HANDSHAKE_NO_SSL_SUPPORT':
      return reason(`TLS: ${server} does not offer TLS, which --mysql-ca-file requires`);
    case 'HANDSHAKE_SSL_ERROR':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return reason(
        `TLS: the server's certificate is not accepted: ${text} (check --mysql-ca-file and the host in --mysql-url)`,
      );
    case 'ER_CON_COUNT_ERROR':
      return reason(`the server refused the connection: ${text}`);
    default:
      return reason(describeError(err));
  }
}
