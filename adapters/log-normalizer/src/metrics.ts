/**
 * podkit_log_normalizer_* metrics, read at scrape time from the plain counters the data path keeps
 * (stats.ts), the tailer and the output. Label values come from fixed sets: formats, levels, kinds.
 */

import { Counter, Gauge, type Registry } from 'prom-client';
import { metricName } from '../../../lib/metrics.js';
import { levels } from './levels.js';
import type { Output } from './output.js';
import { formatNames } from './record.js';
import type { Stats } from './stats.js';
import type { Tailer } from './tail/tailer.js';

const name = (what: string, unit?: string) => metricName('log-normalizer', what, unit);

export function registerMetrics(
  registry: Registry,
  stats: Stats,
  output: Output,
  tailer: Tailer | undefined,
): void {
  const registers = [registry];
  new Counter({
    name: name('records_total'),
    help: 'Records written to stdout, by the format their first line was read as and their level.',
    labelNames: ['format', 'level'],
    registers,
    collect() {
      this.reset();
      formatNames.forEach((format, f) => {
        levels.forEach((level, l) => {
          const count = stats.records[f * levels.length + l] as number;
          if (count > 0) this.inc({ format, level }, count);
        });
      });
    },
  });
  new Counter({
    name: name('lines_total'),
    help: 'Lines read from the inputs (a multi-line record is several lines).',
    registers,
    collect() {
      this.reset();
      this.inc(stats.lines);
    },
  });
  new Counter({
    name: name('parse_failures_total'),
    help: 'Lines the format did not read (written as plain text records), by the format tried.',
    labelNames: ['format'],
    registers,
    collect() {
      this.reset();
      formatNames.forEach((format, f) => {
        const count = stats.parseFailures[f] as number;
        if (count > 0) this.inc({ format }, count);
      });
    },
  });
  new Counter({
    name: name('truncated_total'),
    help: 'Lines and multi-line records longer than --max-line-bytes, written cut.',
    registers,
    collect() {
      this.reset();
      this.inc(stats.truncated);
    },
  });
  new Counter({
    name: name('read_bytes_total'),
    help: 'Bytes read from the inputs.',
    registers,
    collect() {
      this.reset();
      this.inc(stats.bytesRead);
    },
  });
  new Counter({
    name: name('written_bytes_total'),
    help: 'Bytes written to stdout.',
    registers,
    collect() {
      this.reset();
      this.inc(output.bytesWritten);
    },
  });
  new Counter({
    name: name('output_blocked_seconds_total'),
    help: 'Time reading was paused because stdout took no more (a slow reader of the container log).',
    registers,
    collect() {
      this.reset();
      this.inc(output.blockedSeconds());
    },
  });
  new Gauge({
    name: name('files'),
    help: 'Files being followed (open), rotated ones still being read included.',
    registers,
    collect() {
      this.set(tailer?.filesFollowed ?? 0);
    },
  });
  new Gauge({
    name: name('lag', 'bytes'),
    help: 'Bytes written to the followed files and not read yet.',
    registers,
    collect() {
      this.set(tailer?.lagBytes() ?? 0);
    },
  });
  new Counter({
    name: name('rotations_total'),
    help: 'Rotations seen: files renamed, and files truncated in place (copytruncate).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      this.inc({ kind: 'rename' }, tailer?.rotations.rename ?? 0);
      this.inc({ kind: 'truncate' }, tailer?.rotations.truncate ?? 0);
    },
  });
}
