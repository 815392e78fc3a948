/**
 * The one log schema: pino JSON lines on stdout with `time` (ISO 8601), `level` (a label), `component`,
 * `msg`, then context fields. No transports in-process: the cluster's log pipeline does the shipping.
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
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
