/**
 * podkit_metrics_exporter_* metrics: how each source did at the latest scrape (up, duration, series),
 * what was skipped or dropped instead of written, and what the StatsD listener received. Label values
 * come from small fixed sets (source names, skip reasons, line results).
 */

import { Counter, Gauge, type Registry } from 'prom-client';
import { metricName } from '../../../lib/metrics.js';

const name = (what: string, unit?: string) => metricName('metrics-exporter', what, unit);

export interface ExporterMetrics {
  up: Gauge<'source'>;
  scrapeDuration: Gauge<'source'>;
  series: Gauge<'source'>;
  skipped: Counter<'source' | 'reason'>;
  dropped: Counter<'source'>;
  statsdPackets: Counter;
  statsdLines: Counter<'result'>;
  statsdExpired: Counter;
}

export function createMetrics(registry: Registry): ExporterMetrics {
  const registers = [registry];
  return {
    up: new Gauge({
      name: name('up'),
      help: '1 when the source was read at the latest scrape, 0 when it failed or exceeded --scrape-timeout.',
      labelNames: ['source'],
      registers,
    }),
    scrapeDuration: new Gauge({
      name: name('scrape_duration', 'seconds'),
      help: 'How long reading the source took at the latest scrape.',
      labelNames: ['source'],
      registers,
    }),
    series: new Gauge({
      name: name('series'),
      help: 'Series the source wrote at the latest scrape.',
      labelNames: ['source'],
      registers,
    }),
    skipped: new Counter({
      name: name('skipped_total'),
      help: 'Values, names and series skipped instead of written, by source and reason (malformed, non_numeric, missing, name, label_value, duplicate, conflict).',
      labelNames: ['source', 'reason'],
      registers,
    }),
    dropped: new Counter({
      name: name('series_dropped_total'),
      help: 'Series dropped because --max-series was reached.',
      labelNames: ['source'],
      registers,
    }),
    statsdPackets: new Counter({
      name: name('statsd_packets_total'),
      help: 'StatsD datagrams received.',
      registers,
    }),
    statsdLines: new Counter({
      name: name('statsd_lines_total'),
      help: 'StatsD lines read, by result: accepted, dropped (a mapping with action: drop) or over_limit (a new series beyond --max-series); malformed lines are counted in podkit_metrics_exporter_skipped_total.',
      labelNames: ['result'],
      registers,
    }),
    statsdExpired: new Counter({
      name: name('statsd_expired_total'),
      help: 'StatsD series removed after --statsd-ttl without an update.',
      registers,
    }),
  };
}
