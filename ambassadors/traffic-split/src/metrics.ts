/**
 * traffic-split's metrics, made once per process. Each version (the primary, each variant) gets the
 * proxy core's handles labelled `variant`; the mirror gets its own, so its answers never mix with the
 * ones clients got. Label values come from fixed sets, and variant names from the configuration.
 */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { bindUpstreamMetrics, type UpstreamMetrics } from '../../../lib/http-proxy/metrics.js';
import { metricName } from '../../../lib/metrics.js';

const component = 'traffic-split';
const durationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const dropReasons = ['too_large', 'overload', 'aborted', 'mirror_down'] as const;
export type DropReason = (typeof dropReasons)[number];
export const mismatchKinds = ['status', 'header', 'body'] as const;

export type SplitMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(registry: Registry) {
  const registers = [registry];
  const name = (what: string) => metricName(component, what);
  const versions = {
    requests: new Counter({
      name: name('requests_total'),
      help: 'Answers clients got, by the version that answered (primary or a variant) and status class.',
      labelNames: ['variant', 'status_class'],
      registers,
    }),
    upstreamErrors: new Counter({
      name: name('upstream_errors_total'),
      help: 'Requests that failed at the version they were sent to, by reason.',
      labelNames: ['variant', 'reason'],
      registers,
    }),
    duration: new Histogram({
      name: name('request_duration_seconds'),
      help: 'Time from a request head to the end of its answer, by version.',
      labelNames: ['variant'],
      buckets: durationBuckets,
      registers,
    }),
  };
  const mirrorFailed = new Counter({
    name: name('mirror_failed_total'),
    help: 'Copies the mirror did not answer in full, by reason (timeout: past --mirror-timeout).',
    labelNames: ['reason'],
    registers,
  });
  const mirrorHandles = bindUpstreamMetrics({
    requests: new Counter({
      name: name('mirror_responses_total'),
      help: 'Answers the mirror gave to copies, by status class (thrown away, or compared).',
      labelNames: ['status_class'],
      registers,
    }),
    upstreamErrors: mirrorFailed,
    duration: new Histogram({
      name: name('mirror_duration_seconds'),
      help: 'Time from sending a copy to the end of the mirror’s answer.',
      buckets: durationBuckets,
      registers,
    }),
  });
  const weight = new Gauge({
    name: name('variant_weight_percent'),
    help: 'Share of the traffic each version gets now, in percent (the primary gets the rest).',
    labelNames: ['variant'],
    registers,
  });
  const mirrorDropped = new Counter({
    name: name('mirror_dropped_total'),
    help: 'Requests not copied to the mirror: body over --mirror-max-body, --mirror-max-inflight reached, a body not read to its end (the client left, or the primary failed first), or the mirror refusing connections (it is tried again after a backoff).',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of dropReasons) mirrorDropped.inc({ reason }, 0);
  const compareResults = new Counter({
    name: name('compare_results_total'),
    help: 'Primary and mirror answers compared, by result (match or mismatch).',
    labelNames: ['result'],
    registers,
  });
  compareResults.inc({ result: 'match' }, 0);
  compareResults.inc({ result: 'mismatch' }, 0);
  const mismatches = new Counter({
    name: name('compare_mismatches_total'),
    help: 'Compared answers that differed, by what differed (one answer may count under several kinds).',
    labelNames: ['kind'],
    registers,
  });
  for (const kind of mismatchKinds) mismatches.inc({ kind }, 0);
  const limitRejections = new Counter({
    name: name('limit_rejections_total'),
    help: 'Requests refused because a limit was reached, by limit (pool_wait: no connection to the version came free within --pool-wait-timeout).',
    labelNames: ['limit'],
    registers,
  });
  // Bound once, so a refusal does no label hashing.
  const poolWaitRejected = limitRejections.labels({ limit: 'pool_wait' });
  poolWaitRejected.inc(0);
  return {
    /** The core's handles for one version, labelled with its name. */
    version: (variant: string): UpstreamMetrics => bindUpstreamMetrics(versions, { variant }),
    /** A removed version's weight series goes; its counters stay, as counters do. */
    removeVersion(variant: string): void {
      weight.remove({ variant });
    },
    weight,
    mirror: mirrorHandles,
    mirrorFailed,
    mirrorSent: new Counter({
      name: name('mirror_sent_total'),
      help: 'Copies of requests sent to the mirror.',
      registers,
    }),
    mirrorDropped,
    mirrorInflight: new Gauge({
      name: name('mirror_inflight'),
      help: 'Copies sent to the mirror and not answered yet.',
      registers,
    }),
    compareResults,
    mismatches,
    poolWaitRejected,
    compareBodySkipped: new Counter({
      name: name('compare_body_skipped_total'),
      help: 'Compared answers whose bodies were not compared, one of them being over --compare-max-body.',
      registers,
    }),
  };
}
