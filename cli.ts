#!/usr/bin/env node
/**
 * `podkit <component> [options]`. This file owns the process's single exit: everything below returns an
 * exit code (0 clean, 1 runtime failure, 2 configuration) or throws.
 */

import { components, envNamesOfComponents, loadComponent } from './components.js';
import { runComponent } from './lib/lifecycle.js';
import { podkitVersion } from './lib/version.js';

function usage(): string {
  const names = Object.keys(components).sort();
  const width = Math.max(0, ...names.map((name) => name.length)) + 2;
  const list = names.length
    ? names.map((name) => `  ${name.padEnd(width)}${components[name]?.summary}`).join('\n')
    : '  (none in this build)';
  return [
    `podkit ${podkitVersion()}: small single-purpose containers for sidecars, ambassadors and adapters`,
    '',
    'Usage: podkit <component> [options]     podkit <component> --help',
    '',
    'Components:',
    list,
    '',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write(`${podkitVersion()}\n`);
    return 0;
  }
  if (!components[name]) {
    const known = Object.keys(components).sort().join(', ') || 'none in this build';
    process.stderr.write(`podkit: unknown component "${name}" (components: ${known})\n`);
    return 2;
  }
  return runComponent(await loadComponent(name), rest, process.env, undefined, {
    knownElsewhere: () => envNamesOfComponents(name),
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`podkit: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
