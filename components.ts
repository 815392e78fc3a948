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
  'config-sync': {
    summary:
      'configuration from ConfigMaps, a directory or a URL into a shared directory, then SIGHUP to the app',
    dir: 'sidecars/config-sync',
    load: async () => (await import('./sidecars/config-sync/src/component.js')).configSync,
  },
};
