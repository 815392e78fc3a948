import { join } from 'node:path';
import { components, nodeFlagsFor } from '../../components.js';
import { repoRoot } from '../../scripts/repo-root.js';

/** Arguments for `node` that run a component as its image does: its node flags, the CLI, its name. */
export function podkitArgs(name: string): string[] {
  if (!components[name]) throw new Error(`no component ${name}`);
  return [...nodeFlagsFor(name), join(repoRoot, 'dist/cli.js'), name];
}
