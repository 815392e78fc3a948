/**
 * The Node LTS line podkit runs on: the major of the `node` devDependency, whose binary `npm ci` puts in
 * node_modules/.bin (npm scripts, tap and everything they spawn run on it), and which the images' base
 * (Dockerfile.base) names.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/repo-root.js';

export function nodeLtsMajor(): number {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const range = manifest.devDependencies.node ?? '';
  const major = /^\^?(\d+)\./.exec(range)?.[1];
  if (!major)
    throw new Error(`package.json: devDependencies.node is "${range}", expected ^<major>.<minor>.<patch>`);
  return Number(major);
}

/** The major of a `v26.10.0` or `26.10.0` version string. */
export function majorOf(version: string): number {
  return Number(/^v?(\d+)\./.exec(version.trim())?.[1]);
}
