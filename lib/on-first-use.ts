/**
 * Modules a component needs only on some paths (a YAML parser when a file is YAML, a schema compiler
 * when a route has a schema) are loaded the first time they are used, not at start-up: every module
 * loaded stays in the heap of a process that idles for days beside the app it serves.
 */

import { createRequire } from 'node:module';

/** `load` runs once, on the first call; later calls return what it returned. */
export function onFirstUse<T>(load: () => T): () => T {
  let loaded: { value: T } | undefined;
  return () => {
    loaded ??= { value: load() };
    return loaded.value;
  };
}

/** A CommonJS module (or a package with a `require` export), loaded synchronously on first use. */
export function requireOnFirstUse<T>(specifier: string, from: string = import.meta.url): () => T {
  return onFirstUse(() => createRequire(from)(specifier) as T);
}
