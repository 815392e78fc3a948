/**
 * The one log schema: pino JSON lines on stdout with `time` (ISO 8601), `level` (a label), `component`,
 * `msg`, then context fields. No transports in-process: the cluster's log pipeline does the shipping.
 * A component whose stdout carries its output (log-normalizer's records) logs to stderr instead.
 */

import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './log-levels.js';

export { type LogLevel, logLevels } from './log-levels.js';
export type { Logger };

/**
 * Keys that may carry credentials anywhere in a log object. Secrets are `Secret` objects that print as
 * `[redacted]` anyway; this catches raw strings that slip into context fields (headers, URLs, configs).
 */
const redactedPaths = [
  'password',
  'token',
  'authorization',
  '*.password',
  '*.token',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
];

/** Where a component's own log lines go. */
export type LogTarget = 'stdout' | 'stderr';

/** A synchronous destination on the process's stdout or stderr: a line is out before an exit. */
export function logDestination(target: LogTarget): DestinationStream {
  return pino.destination({ dest: target === 'stderr' ? 2 : 1, sync: true });
}

export function createLogger(component: string, level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { component },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactedPaths, censor: '[redacted]' },
    },
    destination ?? logDestination('stdout'),
  );
}
