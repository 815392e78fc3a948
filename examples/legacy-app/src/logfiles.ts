/**
 * Logs the way many older apps write them: plain text, one file per level (info.log, error.log),
 * log4j-style lines, and multi-line stack traces for errors. The log-normalizer adapter exists to turn
 * exactly this into the cluster's JSON shape.
 */

import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

function timestamp(date = new Date()): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())},${pad(date.getUTCMilliseconds(), 3)}`
  );
}

export class LogFiles {
  #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** Points future lines at another directory (a reload may change log_dir). */
  moveTo(dir: string): void {
    mkdirSync(dir, { recursive: true });
    this.#dir = dir;
  }

  info(thread: string, message: string): void {
    this.#write('info.log', `${timestamp()} INFO  [${thread}] ${message}\n`);
  }

  warn(thread: string, message: string): void {
    this.#write('info.log', `${timestamp()} WARN  [${thread}] ${message}\n`);
  }

  error(thread: string, message: string, err?: Error): void {
    const trace = err?.stack ? `${err.stack}\n` : '';
    this.#write('error.log', `${timestamp()} ERROR [${thread}] ${message}\n${trace}`);
  }

  #write(file: string, text: string): void {
    // Synchronous appends keep each record (including a multi-line trace) contiguous in the file.
    appendFileSync(join(this.#dir, file), text);
  }
}
