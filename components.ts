/**
 * The components this build of podkit contains. Each entry loads its module only when it is run, so
 * `podkit <component>` starts without importing every other component's dependencies.
 */

import type { Component } from './lib/component.js';

export interface ComponentEntry {
  readonly summary: string;
  /** Where its source and README live, e.g. `sidecars/tls-proxy`. */
  readonly dir: string;
  load(): Promise<Component>;
}

export const components: Readonly<Record<string, ComponentEntry>> = {
  'mysql-broker': {
    summary: 'ambassador: the app talks to localhost:3306, the broker finds (or creates) MySQL',
    dir: 'ambassadors/mysql-broker',
    load: async () => (await import('./ambassadors/mysql-broker/src/component.js')).default as Component,
  },
};
