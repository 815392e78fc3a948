/**
 * git-pull's metrics, created once and passed to the modules that update them. Label values come from
 * small fixed sets; the revision info metric has one series, replaced at each publish.
 */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { metricName } from '../../../lib/metrics.js';

const name = (what: string, unit?: string) => metricName('git-pull', what, unit);

export type HookKind = 'exechook' | 'webhook' | 'signal';

export function createGitPullMetrics(registry: Registry) {
  const registers = [registry];
  return {
    syncs: new Counter({
      name: name('syncs', 'total'),
      help: 'Syncs by result: success (a new revision was published), noop (already current), error.',
      labelNames: ['result'],
      registers,
    }),
    syncDuration: new Histogram({
      name: name('sync_duration', 'seconds'),
      help: 'Time one sync took, by result.',
      labelNames: ['result'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    lastSuccess: new Gauge({
      name: name('last_success_timestamp', 'seconds'),
      help: 'Unix time of the last sync that ended without error (published or already current).',
      registers,
    }),
    consecutiveFailures: new Gauge({
      name: name('consecutive_failures'),
      help: 'Syncs that failed in a row; the process exits 1 when this reaches --max-failures.',
      registers,
    }),
    revision: new Gauge({
      name: name('revision_info'),
      help: 'Always 1; the labels name the live revision and the ref it was synced from.',
      labelNames: ['hash', 'ref'],
      registers,
    }),
    hooks: new Counter({
      name: name('hook_runs', 'total'),
      help: 'Runs of the after-publish notifications (exechook, webhook, signal), by result.',
      labelNames: ['hook', 'result'],
      registers,
    }),
    syncRequests: new Counter({
      name: name('sync_requests', 'total'),
      help: 'POST /sync requests, by answer: accepted, unauthorized, disabled, rate_limited, unavailable.',
      labelNames: ['result'],
      registers,
    }),
    limitRejections: new Counter({
      name: name('limit_rejections', 'total'),
      help: 'Requests refused because a limit tripped, by limit: sync_min_interval (POST /sync rate).',
      labelNames: ['limit'],
      registers,
    }),
  };
}

export type GitPullMetrics = ReturnType<typeof createGitPullMetrics>;
