/**
 * The adapter's counters, kept as plain numbers on the data path (a prom-client call per record would
 * cost more than parsing some formats); metrics.ts reads them at scrape time.
 */

import { type Level, levels } from './levels.js';
import { type FormatName, formatNames } from './record.js';

export class Stats {
  /** Records written, by format (row) and level (column). */
  readonly records = new Float64Array(formatNames.length * levels.length);
  /** Lines a format could not read (passed on as text), by the format tried. */
  readonly parseFailures = new Float64Array(formatNames.length);
  lines = 0;
  bytesRead = 0;
  truncated = 0;

  count(format: FormatName, level: Level): void {
    this.countAt(formatNames.indexOf(format), levels.indexOf(level));
  }

  countAt(formatIndex: number, levelIndex: number): void {
    const index = formatIndex * levels.length + levelIndex;
    this.records[index] = (this.records[index] as number) + 1;
  }

  failed(format: FormatName): void {
    const index = formatNames.indexOf(format);
    this.parseFailures[index] = (this.parseFailures[index] as number) + 1;
  }

  /** Records written so far, all formats and levels. */
  get recordCount(): number {
    let total = 0;
    for (const count of this.records) total += count;
    return total;
  }
}
