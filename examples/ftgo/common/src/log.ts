import pino, { type Logger } from 'pino';

/**
 * JSON lines: ISO time, level label, the service's name, `msg`. On stdout, or with `file` (LOG_FILE)
 * appended to that file instead: in a pod, log-normalizer reads it and writes the lines on its own
 * stdout, so each line reaches the cluster's logs once.
 */
export function createLogger(service: string, level = 'info', file = process.env.LOG_FILE): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // Synchronous, so the line of a failed start is in the file before the process exits.
  return file ? pino(options, pino.destination({ dest: file, append: true, sync: true })) : pino(options);
}
