/**
 * Paths of built scripts a component starts in another process (its workers). `import.meta.url` of
 * the calling module will not do: in the bundle (scripts/bundle.ts) a module's code runs from a chunk
 * in dist/chunks/, not from its own place. This module is one level below dist/ in both layouts
 * (dist/lib/ as tsc writes it, dist/chunks/ in the bundle), so paths are taken from here.
 */

import { fileURLToPath } from 'node:url';

/** `relative` to dist/, e.g. `sidecars/tls-proxy/src/worker.js`. */
export function distPath(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}
