/**
 * podkit_db_health_* metrics. The `check` label takes the configured check names (a small fixed set);
 * gauges are filled at scrape time from the latest results, so they never disagree with the probes.
 */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metricName } from '../../../lib/metrics.js';
import { type ProbeName, probeNames } from './checks.js';
import { numeric } from './expectation.js';
import type { CheckResult } from './results.js';

const name = (what: string, unit?: string) => metricName('db-health', what, unit);

export type RunResult = 'success' | 'failure' | 'timeout' | 'skipped';

/** What the scrape-time gauges read. */
export interface MetricsState {
  results(): ReadonlyMap<string, CheckResult>;
  probeOk(probe: ProbeName): boolean;
  openConnections(): number;
}

export interface DbHealthMetrics {
  runs: Counter<'check' | 'result'>;
  duration: Histogram<'check'>;
  connectionsOpened: Counter;
  /** Drops the series of checks that a reload removed. */
  forget(check: string): void;
}

export function createMetrics(registry: Registry, state: MetricsState): DbHealthMetrics {
  const registers = [registry];
  new Gauge({
    name: name('check_success'),
    help: '1 when the check passed on its latest run, 0 when it failed; absent before its first run.',
    labelNames: ['check'],
    registers,
    collect() {
      this.reset();
      for (const [check, result] of state.results()) {
        if (result.status !== 'pending') this.set({ check }, result.status === 'ok' ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: name('check_value'),
    help: 'The value the check observed on its latest run, when it is a number.',
    labelNames: ['check'],
    registers,
    collect() {
      this.reset();
      for (const [check, result] of state.results()) {
        const value = numeric(result.observed);
        if (!Number.isNaN(value)) this.set({ check }, value);
      }
    },
  });
  new Gauge({
    name: name('database_up'),
    help: '1 when the database answered SELECT 1 on the latest run, else 0.',
    registers,
    collect() {
      this.set(state.results().get('database-up')?.status === 'ok' ? 1 : 0);
    },
  });
  new Gauge({
    name: name('probe_success'),
    help: '1 when the probe (liveness, readiness, startup) passes, else 0.',
    labelNames: ['probe'],
    registers,
    collect() {
      for (const probe of probeNames) this.set({ probe }, state.probeOk(probe) ? 1 : 0);
    },
  });
  new Gauge({
    name: name('open_connections'),
    help: 'Connections the checks hold open to the database, including ones being opened.',
    registers,
    collect() {
      this.set(state.openConnections());
    },
  });
  const runs = new Counter({
    name: name('check_runs_total'),
    help: 'Check runs by result: success, failure, timeout, or skipped while the database was down.',
    labelNames: ['check', 'result'],
    registers,
  });
  const duration = new Histogram({
    name: name('check_duration', 'seconds'),
    help: 'How long each check run took, connection included.',
    labelNames: ['check'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const connectionsOpened = new Counter({
    name: name('connections_opened_total'),
    help: 'Connections opened to the database by the checks.',
    registers,
  });
  return {
    runs,
    duration,
    connectionsOpened,
    forget(check) {
      duration.remove({ check });
      for (const result of ['success', 'failure', 'timeout', 'skipped'] satisfies RunResult[])
        runs.remove({ check, result });
    },
  };
}
