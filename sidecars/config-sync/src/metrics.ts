/**
 * config-sync's metrics, created once and passed to the parts that count. Label values come from the
 * fixed sets below, and every labelled series exists from the start (at 0) so rates work at once.
 */

import { Counter, Gauge, type Registry } from 'prom-client';
import { metricName } from '../../../lib/metrics.js';

const name = (what: string, unit?: string) => metricName('config-sync', what, unit);

export const syncResults = [
  'published',
  'unchanged',
  'invalid',
  'known_bad',
  'rolled_back',
  'unhealthy',
  'error',
] as const;
export type SyncResult = (typeof syncResults)[number];

export interface SyncMetrics {
  syncs: Counter<'result'>;
  publishes: Counter;
  notifications: Counter<'result'>;
  rollbacks: Counter;
  refusedKeys: Counter<'reason'>;
  sourceErrors: Counter;
  version: Gauge;
  /** Set by the syncer; read by the gauges at scrape time. */
  lastSuccess: { at: number | undefined; startedAt: number };
}

export function createMetrics(registry: Registry): SyncMetrics {
  const registers = [registry];
  const lastSuccess: SyncMetrics['lastSuccess'] = { at: undefined, startedAt: Date.now() };
  const syncs = new Counter({
    name: name('syncs_total'),
    help: 'Snapshots from the source processed, by result (published, unchanged, invalid, known_bad, rolled_back, unhealthy, error).',
    labelNames: ['result'],
    registers,
  });
  for (const result of syncResults) syncs.inc({ result }, 0);
  const notifications = new Counter({
    name: name('notifications_total'),
    help: 'Signals or reload calls sent to the app, by result.',
    labelNames: ['result'],
    registers,
  });
  for (const result of ['success', 'failure']) notifications.inc({ result }, 0);
  const refusedKeys = new Counter({
    name: name('refused_keys_total'),
    help: 'Keys refused: unsafe file names (traversal, absolute, reserved) or clashes between objects.',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of ['unsafe', 'conflict']) refusedKeys.inc({ reason }, 0);
  new Gauge({
    name: name('last_success_age', 'seconds'),
    help: 'Seconds since the source last confirmed the live configuration (since start while it never has).',
    registers,
    collect() {
      this.set((Date.now() - (lastSuccess.at ?? lastSuccess.startedAt)) / 1000);
    },
  });
  new Gauge({
    name: name('last_success_timestamp', 'seconds'),
    help: 'Unix time at which the source last confirmed the live configuration (0 while it never has).',
    registers,
    collect() {
      this.set((lastSuccess.at ?? 0) / 1000);
    },
  });
  return {
    syncs,
    publishes: new Counter({
      name: name('publishes_total'),
      help: 'Versions published into the target directory (rollbacks included).',
      registers,
    }),
    notifications,
    rollbacks: new Counter({
      name: name('rollbacks_total'),
      help: 'Versions rolled back because the app was not healthy after the reload.',
      registers,
    }),
    refusedKeys,
    sourceErrors: new Counter({
      name: name('source_errors_total'),
      help: 'Failures reading the source (API or server unreachable, error answers); the last good configuration stays.',
      registers,
    }),
    version: new Gauge({
      name: name('version'),
      help: 'Generation of the live configuration: each new content gets the next number, a rollback returns to the previous one.',
      registers,
    }),
    lastSuccess,
  };
}
