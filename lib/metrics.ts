/**
 * Metrics: one prom-client Registry per process (never the global one, so tests and embedders can run
 * several), default process metrics, and names of the form podkit_<component>_<what>_<unit>.
 */

import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * prom-client's default metrics include these gauges, whose `_total` suffix promtool's linter rejects
 * ("non-counter metrics should not have _total suffix"); the rest of the defaults pass.
 */
const lintFailingDefaults = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of lintFailingDefaults) registry.removeSingleMetric(name);
  return registry;
}

/** `podkit_<component>_<what>[_<unit>]` with the component's dashes as underscores. */
export function metricName(component: string, what: string, unit?: string): string {
  return ['podkit', component.replace(/-/g, '_'), what, unit].filter(Boolean).join('_');
}

/** `podkit_build_info{component,version}` = 1: the component and version a scrape came from. */
export function registerBuildInfo(registry: Registry, component: string, version: string): void {
  const info = new Gauge({
    name: 'podkit_build_info',
    help: 'Always 1; labels name the podkit component and version of this process.',
    labelNames: ['component', 'version', 'node_version'],
    registers: [registry],
  });
  info.set({ component, version, node_version: process.version }, 1);
}
