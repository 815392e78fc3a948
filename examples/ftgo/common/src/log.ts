import pino, { type Logger } from 'pino';

/** JSON lines on stdout: ISO time, level label, the service's name, `msg`. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
