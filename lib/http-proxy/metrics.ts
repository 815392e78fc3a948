/**
 * What the proxy core counts, as handles the component creates (once, in its metrics.ts, under its own
 * names) and passes in: the core never names a metric. Each upstream gets its own handles, so a
 * component with several upstreams (a split's primary and variants) labels them per upstream.
 */

import type { Counter, Histogram, LabelValues } from 'prom-client';

const statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const upstreamErrorReasons = ['connect', 'timeout', 'reset', 'other'] as const;

export type StatusClass = (typeof statusClasses)[number];
export type UpstreamErrorReason = (typeof upstreamErrorReasons)[number];

interface Increment {
  inc(value?: number): void;
}

/** One upstream's handles: label children bound once, so the request path does no label hashing. */
export interface UpstreamMetrics {
  /** Answers sent to clients for this upstream (its own and the proxy's 502/504), by status class. */
  requestsByClass: Record<StatusClass, Increment>;
  /** Exchanges that failed at the upstream, by reason. */
  upstreamErrors: Record<UpstreamErrorReason, Increment>;
  /** Seconds from the request head to the end of the response. */
  duration: { observe(seconds: number): void };
}

/**
 * Binds an upstream's handles from the component's metrics: `requests` labelled `status_class`,
 * `upstreamErrors` labelled `reason`, plus the `labels` that name the upstream (none for a single
 * upstream). Every series is set to 0, so dashboards see them from the first scrape.
 */
export function bindUpstreamMetrics(
  { requests, upstreamErrors, duration }: { requests: Counter; upstreamErrors: Counter; duration: Histogram },
  labels: LabelValues<string> = {},
): UpstreamMetrics {
  const byClass = {} as Record<StatusClass, Increment>;
  for (const status_class of statusClasses) {
    byClass[status_class] = requests.labels({ ...labels, status_class });
    byClass[status_class].inc(0);
  }
  const byReason = {} as Record<UpstreamErrorReason, Increment>;
  for (const reason of upstreamErrorReasons) {
    byReason[reason] = upstreamErrors.labels({ ...labels, reason });
    byReason[reason].inc(0);
  }
  return {
    requestsByClass: byClass,
    upstreamErrors: byReason,
    duration: Object.keys(labels).length === 0 ? duration : duration.labels(labels),
  };
}

export function statusClass(status: number): StatusClass {
  if (status < 200) return '1xx';
  if (status < 300) return '2xx';
  if (status < 400) return '3xx';
  if (status < 500) return '4xx';
  return '5xx';
}
