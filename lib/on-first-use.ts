/**
 * Modules a component needs only on some paths (a YAML parser when a file is YAML) are loaded the first
 * time they are used, not at start-up: every module loaded stays in the heap of a process that idles
 * for days beside the app it serves.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * A CommonJS module (or a package with a `require` export), loaded synchronously by the first call,
 * resolved from `from` (the caller's `import.meta.url`).
 */
export function requireOnFirstUse<T>(specifier: string, from: string): () => T {
  let loaded: { module: T } | undefined;
  return () => {
    loaded ??= { module: createRequire(from)(specifier) as T };
    return loaded.module;
  };
}

/**
 * A node built-in, loaded by the first call: some (http2) hold memory in every process that loads them,
 * and only some requests need them (docs/performance.md).
 */
export function builtinOnFirstUse<T>(name: `node:${string}`): () => T {
  return requireOnFirstUse<T>(name, import.meta.url);
}

/**
 * A file a package ships for browsers (a chart library's script, its stylesheet), read by the first
 * call and kept: `packageFileOnFirstUse('uplot/dist/uPlot.iife.min.js', import.meta.url)`. Written
 * literally, so scripts/runtime-tree.ts finds it and ships that file (and no more of the package) in the
 * image.
 */
export function packageFileOnFirstUse(specifier: string, from: string): () => Buffer {
  let content: Buffer | undefined;
  return () => {
    content ??= readFileSync(createRequire(from).resolve(specifier));
    return content;
  };
}
