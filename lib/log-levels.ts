/**
 * The log levels, apart from the logger: option specs need them, and an exec probe or `--help` parses
 * options without ever loading pino.
 */

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];
