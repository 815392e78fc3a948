import { join } from 'node:path';
import { componentNodeArgs } from '../../components.js';
import { repoRoot } from '../../scripts/repo-root.js';

/** Arguments for `node` that run a component as its image does: its node flags, the CLI, its name. */
export function podkitArgs(name: string): string[] {
  return componentNodeArgs(name, join(repoRoot, 'dist/cli.js'));
}
