import { join } from 'node:path';
import { components } from '../../components.js';
import { repoRoot } from '../../scripts/repo-root.js';

/** Arguments for `node` that run a component as its image does: its node flags, the CLI, its name. */
export function podkitArgs(name: string): string[] {
  const entry = components[name];
  if (!entry) throw new Error(`no component ${name}`);
  return [...entry.nodeFlags, join(repoRoot, 'dist/cli.js'), name];
}
