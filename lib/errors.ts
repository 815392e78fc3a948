/**
 * Coded errors. Every failure a user can see carries a stable `PODKIT_ERR_*` code, so logs can be
 * searched and alerts matched without parsing prose. Components add their codes here, in one list,
 * so two components never invent different codes for the same failure.
 */

export const ErrorCode = {
  /** An option has a bad value, or options contradict each other. Exit code 2. */
  CONFIG: 'PODKIT_ERR_CONFIG',
  /** A listener could not bind its address. */
  LISTEN: 'PODKIT_ERR_LISTEN',
  /** Shutdown did not finish before --shutdown-timeout. */
  SHUTDOWN_TIMEOUT: 'PODKIT_ERR_SHUTDOWN_TIMEOUT',
  /** A reload (SIGHUP, file change) was refused; the previous state keeps serving. */
  RELOAD: 'PODKIT_ERR_RELOAD',
  /** The Kubernetes API answered with an error or could not be reached. */
  KUBE_API: 'PODKIT_ERR_KUBE_API',
  /** The app to notify could not be found or signalled. */
  SIGNAL: 'PODKIT_ERR_SIGNAL',
  /** An HTTP notification (webhook, reload URL) failed after its retries. */
  WEBHOOK: 'PODKIT_ERR_WEBHOOK',
  /** A hook or validation command failed or timed out. */
  COMMAND: 'PODKIT_ERR_COMMAND',
  /** A file could not be published atomically. */
  PUBLISH: 'PODKIT_ERR_PUBLISH',
  /** A database health check failed: unreachable, refused, timed out, or an unexpected value. */
  DB_CHECK: 'PODKIT_ERR_DB_CHECK',
  /** A git operation (ls-remote, fetch, worktree, submodules) failed. */
  GIT: 'PODKIT_ERR_GIT',
  /** The ref to sync (branch, tag, commit) does not exist on the remote. */
  GIT_REF: 'PODKIT_ERR_GIT_REF',
  /** The git remote refused the credentials, or the SSH host key did not match. */
  GIT_AUTH: 'PODKIT_ERR_GIT_AUTH',
  /** A sync did not finish within its time limit; git was killed. */
  SYNC_TIMEOUT: 'PODKIT_ERR_SYNC_TIMEOUT',
  /** A request to an admin action lacked the right bearer token. */
  UNAUTHORIZED: 'PODKIT_ERR_UNAUTHORIZED',
  /** A client exceeded a rate limit: proxied requests or an admin action (HTTP 429 with Retry-After). */
  RATE_LIMITED: 'PODKIT_ERR_RATE_LIMITED',
  /** A certificate, key or CA file is unreadable, malformed, or the key does not match the certificate. */
  TLS_MATERIAL: 'PODKIT_ERR_TLS_MATERIAL',
  /** A proxy could not reach its upstream, or the upstream broke the exchange (HTTP 502). */
  UPSTREAM: 'PODKIT_ERR_UPSTREAM',
  /** The upstream did not answer within the proxy's upstream timeout (HTTP 504). */
  UPSTREAM_TIMEOUT: 'PODKIT_ERR_UPSTREAM_TIMEOUT',
  /** A client certificate was required and missing, failed verification, or is not allowed (HTTP 403). */
  CLIENT_CERT: 'PODKIT_ERR_CLIENT_CERT',
  /** Plain HTTP was sent to a TLS port (HTTP 400). */
  PLAIN_HTTP: 'PODKIT_ERR_PLAIN_HTTP',
  /** A malformed, oversized or too slow request was refused (HTTP 400, 408, 431). */
  BAD_REQUEST: 'PODKIT_ERR_BAD_REQUEST',
  /** A worker process exited unexpectedly and is being replaced. */
  WORKER: 'PODKIT_ERR_WORKER',
  /** A proxy had no healthy backend for a client, or its backend did not answer within the timeout. */
  BACKEND_UNAVAILABLE: 'PODKIT_ERR_BACKEND_UNAVAILABLE',
  /** A proxy refused a client at its connection limit. */
  CONNECTION_LIMIT: 'PODKIT_ERR_CONNECTION_LIMIT',
  /** A configuration source (HTTP server, directory) could not be read or answered badly. */
  SOURCE: 'PODKIT_ERR_SOURCE',
  /** Configuration refused by validation (syntax, a validation command): not published. */
  VALIDATION: 'PODKIT_ERR_VALIDATION',
  /** A key that cannot be a safe file name (traversal, absolute, reserved) or clashes with another. */
  UNSAFE_KEY: 'PODKIT_ERR_UNSAFE_KEY',
  /** The app was unhealthy after a reload: the previous configuration was put back. */
  ROLLBACK: 'PODKIT_ERR_ROLLBACK',
  /** A symlink in config-sync's source directory resolves outside it: the update is not published. */
  SOURCE_LINK: 'PODKIT_ERR_SOURCE_LINK',
  /** A metrics source (the app's JSON, Redis, MySQL) could not be read at a scrape: reported as up 0. */
  METRICS_SOURCE: 'PODKIT_ERR_METRICS_SOURCE',
  /** A value, name or series could not be written as a valid metric: skipped and counted. */
  METRIC_SKIPPED: 'PODKIT_ERR_METRIC_SKIPPED',
  /** An input (a log file, stdin, saved read positions) could not be read. */
  INPUT: 'PODKIT_ERR_INPUT',
  /** The output (stdout) could not be written: closed, or a write failed. */
  OUTPUT: 'PODKIT_ERR_OUTPUT',
  /** A proxy found no upstream connection free within its pool-wait timeout (HTTP 503). */
  UPSTREAM_BUSY: 'PODKIT_ERR_UPSTREAM_BUSY',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class PodkitError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PodkitError';
    this.code = code;
  }
}

/**
 * A configuration error: names the option, the value it got (never for secrets) and what was expected.
 * Its message is the single line printed on stderr and written to the termination log.
 */
export class ConfigError extends PodkitError {
  readonly option: string;

  constructor(option: string, message: string) {
    super(ErrorCode.CONFIG, message);
    this.name = 'ConfigError';
    this.option = option;
  }
}

export function isPodkitError(err: unknown, code?: ErrorCode): err is PodkitError {
  return err instanceof PodkitError && (code === undefined || err.code === code);
}

/** A one-line description of any thrown value, for logs and error bodies: no stack, no newline. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const text = err.message || err.name;
    const withCode = typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
    // fetch (undici) reports "fetch failed" and keeps the reason (ECONNREFUSED...) in `cause`.
    const cause = err.cause === undefined ? '' : ` (${describeError(err.cause)})`;
    return `${withCode}${cause}`.replace(/\s*\n\s*/g, ' ');
  }
  return String(err).replace(/\s*\n\s*/g, ' ');
}
