import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import t from 'tap';
import { bundledEntries, loadedOnFirstUse } from '../scripts/bundle.js';
import { repoRoot } from '../scripts/repo-root.js';

const sourceDirs = ['lib', 'sidecars', 'ambassadors', 'adapters'];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.includes('test/'))
    .map((file) => join(repoRoot, dir, file));
}

t.test('what node starts is bundled: no output of the bundle loads a package at start', async (t) => {
  const meta = JSON.parse(readFileSync(join(repoRoot, 'dist', 'bundle-meta.json'), 'utf8')) as Metafile;
  const outputs = Object.entries(meta.outputs).filter(([path]) => path.endsWith('.js'));
  for (const entry of bundledEntries) {
    t.ok(
      outputs.some(([path]) => path === `dist/${entry}`),
      `dist/${entry} is an output of the bundle`,
    );
  }
  const builtins = new Set(builtinModules);
  const resolvable = (specifier: string) => {
    try {
      createRequire(join(repoRoot, 'package.json')).resolve(specifier);
      return true;
    } catch {
      return false;
    }
  };
  for (const [path, output] of outputs) {
    const outside = output.imports
      .filter((imported) => imported.external)
      .filter(({ path: specifier }) => !specifier.startsWith('node:') && !builtins.has(specifier))
      // Left out on purpose (a require() where the package needs it), or left by esbuild for the runtime
      // because it is not installed: optional add-ons (ws's bufferutil, node-fetch's encoding).
      .filter(
        (imported) =>
          imported.kind !== 'require-call' ||
          (resolvable(imported.path) && !loadedOnFirstUse.includes(imported.path as never)),
      )
      .map((imported) => imported.path);
    t.same(outside, [], `${path} imports only node's built-ins from outside the bundle`);
  }
});

t.test('every script a component starts in another process is bundled', async (t) => {
  const started = sourceDirs.flatMap((dir) =>
    sourceFiles(dir).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\bdistPath\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] as string),
    ),
  );
  t.ok(started.length >= 2, 'the tls-proxy and mysql-broker worker scripts are found');
  for (const script of started)
    t.ok(bundledEntries.includes(script as never), `${script} is in bundledEntries`);
});
