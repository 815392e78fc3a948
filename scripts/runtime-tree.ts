/**
 * What a container needs at run time, derived from the build: the bundle's outputs (scripts/bundle.ts),
 * package.json (podkit's version) and the packages the bundle still loads from node_modules, with their
 * own dependencies, and the single files of packages it reads (a browser script an admin page serves).
 * Dockerfile.base copies this tree into the runtime image instead of every production
 * dependency, which the bundle has inlined.
 *
 *   node dist/scripts/runtime-tree.js <dir>      (after `npm run build`; the image's build stage runs it)
 */

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { Metafile } from 'esbuild';
import { repoRoot } from './repo-root.js';

/** The metafile scripts/bundle.ts writes. */
export function readBundleMeta(root = repoRoot): Metafile {
  return JSON.parse(readFileSync(join(root, 'dist', 'bundle-meta.json'), 'utf8')) as Metafile;
}

/** The package a bare specifier names: `yaml` for `yaml/util`, `@scope/name` for `@scope/name/x`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

const builtins = new Set(builtinModules);

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtins.has(specifier) || builtins.has(packageName(specifier));
}

/**
 * The specifiers of `requireOnFirstUse('x', ...)` calls (lib/on-first-use.ts) in a module's text, which a
 * bundler cannot see as imports. TypeScript source or tsc's output: a type argument may come first.
 */
export function firstUseSpecifiers(text: string): string[] {
  return [...text.matchAll(/\brequireOnFirstUse\s*(?:<[^()]*?>)?\s*\(\s*(['"])([^'"]+)\1/g)].map(
    (match) => match[2] as string,
  );
}

/**
 * The specifiers of `packageFileOnFirstUse('pkg/path/file', ...)` calls (lib/on-first-use.ts): files a
 * component reads from a package at run time (a browser script it serves) without loading the package.
 */
export function packageFileSpecifiers(text: string): string[] {
  return [...text.matchAll(/\bpackageFileOnFirstUse\s*\(\s*(['"])([^'"]+)\1/g)].map(
    (match) => match[2] as string,
  );
}

/**
 * The package directory node finds for `name` from `fromDir`: the nearest node_modules/<name> on the
 * way up, stopping at `root`. Undefined when it is not installed.
 */
function findPackage(name: string, fromDir: string, root: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

/**
 * The packages the bundle loads from node_modules at run time, each with what loads it: the external
 * imports esbuild left in the outputs, and the first-use requires in podkit's own bundled modules. An external that is not installed is an optional add-on its
 * caller tries and does without (mysql2's cardinal, node-fetch's encoding): it has nothing to ship.
 */
export function packagesLoadedAtRunTime(meta: Metafile, root = repoRoot): Map<string, string[]> {
  const loaded = new Map<string, string[]>();
  const add = (specifier: string, by: string) => {
    if (isBuiltin(specifier)) return;
    const name = packageName(specifier);
    if (!findPackage(name, join(root, 'dist'), root)) return;
    loaded.set(name, [...new Set([...(loaded.get(name) ?? []), by])].sort());
  };
  for (const [output, { imports }] of Object.entries(meta.outputs)) {
    for (const imported of imports) if (imported.external) add(imported.path, output);
  }
  for (const input of Object.keys(meta.inputs)) {
    if (input.includes('node_modules/') || input.includes(':')) continue;
    for (const specifier of firstUseSpecifiers(readFileSync(join(root, input), 'utf8')))
      add(specifier, input);
  }
  return new Map([...loaded].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The files, relative to `root`, that the bundled modules read from packages at run time: each one
 * named, with its package's package.json (how node resolves the path) and its licence files (the
 * notice the licence asks to travel with a copy), and nothing else of the package.
 */
export function packageFilesReadAtRunTime(meta: Metafile, root = repoRoot): string[] {
  const files = new Set<string>();
  for (const input of Object.keys(meta.inputs)) {
    if (input.includes('node_modules/') || input.includes(':')) continue;
    for (const specifier of packageFileSpecifiers(readFileSync(join(root, input), 'utf8'))) {
      const name = packageName(specifier);
      const dir = findPackage(name, join(root, 'dist'), root);
      if (!dir) throw new Error(`${specifier} (read by ${input}) is not installed`);
      const file = join(dir, specifier.slice(name.length + 1));
      if (!existsSync(file)) throw new Error(`${specifier} (read by ${input}) does not exist`);
      const licences = readdirSync(dir).filter((entry) => /^(licen[cs]e|copying|notice)/i.test(entry));
      for (const path of [file, join(dir, 'package.json'), ...licences.map((entry) => join(dir, entry))])
        files.add(relative(root, path));
    }
  }
  return [...files].sort();
}

/**
 * The directories, relative to `root`, of the packages `names` and of everything they depend on
 * (dependencies, and the optional and peer ones that are installed), found as node finds them.
 */
export function dependencyClosure(names: Iterable<string>, root = repoRoot): string[] {
  const found = new Set<string>();
  const visit = (name: string, fromDir: string, required: boolean) => {
    const dir = findPackage(name, fromDir, root);
    if (!dir) {
      if (required)
        throw new Error(`${name} (needed from ${relative(root, fromDir) || '.'}) is not installed`);
      return;
    }
    if (found.has(dir)) return;
    found.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<
      string,
      Record<string, string> | undefined
    >;
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency, dir, true);
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {})) visit(dependency, dir, false);
    for (const dependency of Object.keys(manifest.peerDependencies ?? {})) visit(dependency, dir, false);
  };
  for (const name of names) visit(name, join(root, 'dist'), true);
  return [...found].map((dir) => relative(root, dir)).sort();
}

/** The scripts node runs in a container: every JavaScript output of the bundle, without source maps. */
export function bundleOutputs(meta: Metafile): string[] {
  return Object.keys(meta.outputs)
    .filter((output) => output.endsWith('.js'))
    .sort();
}

export interface RuntimeTree {
  files: string[];
  packages: string[];
  /** Single files of packages that are read, not loaded (packageFilesReadAtRunTime). */
  packageFiles: string[];
}

/** Copies the runtime tree into `to`: package.json, the bundle's outputs, the packages they load. */
export function stageRuntimeTree(to: string, root = repoRoot): RuntimeTree {
  const meta = readBundleMeta(root);
  const files = ['package.json', ...bundleOutputs(meta)];
  const packages = dependencyClosure(packagesLoadedAtRunTime(meta, root).keys(), root);
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(root, file), join(to, file));
  }
  for (const dir of packages) {
    // A package's own nested node_modules holds only what the closure lists separately.
    const nested = join(root, dir, 'node_modules');
    cpSync(join(root, dir), join(to, dir), {
      recursive: true,
      filter: (path) => path !== nested,
    });
  }
  const packageFiles = packageFilesReadAtRunTime(meta, root);
  for (const file of packageFiles) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(root, file), join(to, file));
  }
  return { files, packages, packageFiles };
}

if (process.argv[1] === import.meta.filename) {
  const to = process.argv[2];
  if (!to) {
    console.error(`usage: node ${basename(process.argv[1])} <dir>`);
    process.exit(2);
  }
  const { files, packages, packageFiles } = stageRuntimeTree(to);
  const names = packages.map((dir) => dir.split(`node_modules${sep}`).at(-1));
  console.log(
    `runtime tree in ${to}: ${files.length} files, packages: ${names.join(', ') || 'none'}, files of packages: ${packageFiles.join(', ') || 'none'}`,
  );
}
