/**
 * Worker metrics in the primary's /metrics. Each data-plane metric is registered in the primary's
 * registry as a stand-in whose value is collected from every worker at scrape time and summed with
 * prom-client's own cluster aggregation (AggregatorRegistry.aggregate), so the output is one set of
 * series, exactly as a single process would show. One scrape asks each worker once, whatever the
 * number of metrics.
 */

import {
  AggregatorRegistry,
  type Metric,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
  type RegistryContentType,
} from 'prom-client';
import { createDataPlaneMetrics } from './metrics.js';

type MetricSnapshot = MetricObjectWithValues<MetricValue<string>>;

export interface WorkerMetricsSource {
  /** One array of metrics per worker that answered. */
  collect(): Promise<MetricSnapshot[][]>;
}

export async function registerWorkerMetrics(registry: Registry, source: WorkerMetricsSource): Promise<void> {
  // The shape (names, help, types) comes from the same definitions the workers use.
  const template = new Registry();
  createDataPlaneMetrics(template);
  const shapes = await template.getMetricsAsJSON();

  let inFlight: Promise<Registry<RegistryContentType>> | undefined;
  const aggregated = (): Promise<Registry<RegistryContentType>> => {
    // Every stand-in's get() runs within one scrape: they share a single round of questions.
    const round =
      inFlight ??
      source
        .collect()
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
