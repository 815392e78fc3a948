/**
 * Worker metrics in the primary's /metrics. Each metric the workers define is registered in the
 * primary's registry as a stand-in whose value is collected from every worker at scrape time and summed
 * with prom-client's own cluster aggregation (AggregatorRegistry.aggregate), so the output is one set of
 * series, exactly as a single process would show. One scrape asks each worker once, whatever the
 * number of metrics.
 */

import { AggregatorRegistry, type Metric, Registry, type RegistryContentType } from 'prom-client';
import type { MetricSnapshot } from './messages.js';

export interface WorkerMetricsSource {
  /** One array of metrics per worker (and one for the workers that died). */
  metrics(): Promise<MetricSnapshot[][]>;
}

/**
 * Registers on `registry` the metrics `define` creates (the same function the workers call on their
 * own registries: names, help and types come from one place), valued as the sum over `source`.
 */
export async function registerWorkerMetrics(
  registry: Registry,
  source: WorkerMetricsSource,
  define: (registry: Registry) => unknown,
): Promise<void> {
  const template = new Registry();
  define(template);
  const shapes = await template.getMetricsAsJSON();

  let inFlight: Promise<Registry<RegistryContentType>> | undefined;
  const aggregated = (): Promise<Registry<RegistryContentType>> => {
    // Every stand-in's get() runs within one scrape: they share a single round of questions.
    const round =
      inFlight ??
      source
        .metrics()
        .then((perWorker) => AggregatorRegistry.aggregate(perWorker))
        .finally(() => {
          setImmediate(() => {
            inFlight = undefined;
          });
        });
    inFlight = round;
    return round;
  };

  for (const shape of shapes) {
    const standIn = {
      name: shape.name,
      help: shape.help,
      type: shape.type,
      aggregator: shape.aggregator,
      async get(): Promise<MetricSnapshot> {
        const metric = (await aggregated()).getSingleMetric(shape.name) as
          | (Metric & { get(): MetricSnapshot | Promise<MetricSnapshot> })
          | undefined;
        const values = metric ? (await metric.get()).values : [];
        return { ...shape, values };
      },
    };
    // prom-client registries accept any object with name/help/type/get (its own aggregation relies on
    // that); the cast is only for the TypeScript union of its metric classes.
    registry.registerMetric(standIn as unknown as Metric);
  }
}
