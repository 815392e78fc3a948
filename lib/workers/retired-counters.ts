/**
 * The counters of workers that have died. A sum over the live workers alone would drop by a dead
 * worker's share, which Prometheus reads as a counter reset (and rate() as a burst); keeping the last
 * values seen from each worker that is gone keeps the sum monotonic. What a worker counted after its
 * last scrape dies with it. Gauges (open connections) are left out: a dead worker holds nothing.
 */

import { AggregatorRegistry } from 'prom-client';
import type { MetricSnapshot } from './messages.js';

const monotonic: ReadonlySet<string> = new Set(['counter', 'histogram']);

export class RetiredCounters<Key = unknown> {
  readonly #lastSeen = new Map<Key, MetricSnapshot[]>();
  #retired: Promise<MetricSnapshot[]> = Promise.resolve([]);

  /** The latest metrics of a live worker. */
  seen(key: Key, snapshot: MetricSnapshot[]): void {
    this.#lastSeen.set(key, snapshot);
  }

  /** The worker is gone: its counters as last seen join the retired sum. */
  retire(key: Key): void {
    const last = this.#lastSeen.get(key);
    this.#lastSeen.delete(key);
    if (!last) return;
    // String(): prom-client's typings declare `type` a numeric enum; at run time it is the type's name.
    const kept = last.filter(
      (metric) => monotonic.has(String(metric.type)) && (metric.aggregator ?? 'sum') === 'sum',
    );
    this.#retired = this.#retired.then((retired) =>
      AggregatorRegistry.aggregate([retired, kept]).getMetricsAsJSON(),
    );
  }

  /** One snapshot with the sum of every retired worker's counters (empty when none died). */
  snapshot(): Promise<MetricSnapshot[]> {
    return this.#retired;
  }
}
