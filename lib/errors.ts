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
  /** A configuration source (HTTP server, directory) could not be read or answered badly. */
  SOURCE: 'PODKIT_ERR_SOURCE',
  /** Configuration refused by validation (syntax, a validation command): not published. */
  VALIDATION: 'PODKIT_ERR_VALIDATION',
  /** A key that cannot be a safe file name (traversal, absolute, reserved) or clashes with another. */
  UNSAFE_KEY: 'PODKIT_ERR_UNSAFE_KEY',
  /** The app was unhealthy after a reload: the previous configuration was put back. */
  ROLLBACK: 'PODKIT_ERR_ROLLBACK',
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
