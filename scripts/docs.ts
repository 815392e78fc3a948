/**
 * npm run docs: regenerates the parameters tables in the READMEs from the option specs (the root
 * README's common options, and each component's own table). `test/docs.test.ts` fails when a table
 * is out of date, so docs and flags cannot drift apart.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { components } from '../components.js';
import { commonOptions, fullSpec } from '../lib/component.js';
import { markdownTable, withTable } from '../lib/options-docs.js';
import { repoRoot } from './repo-root.js';

/**
 * The root README documents the options every component shares; the admin port and the scoped
 * variables' prefix are per component.
 */
export function commonTable(): string {
  return markdownTable(commonOptions(0), '<component>').replace('`0.0.0.0:0`', '`0.0.0.0:<component port>`');
}

export function expectedReadmes(): Promise<{ path: string; text: string }[]> {
  const rootPath = join(repoRoot, 'README.md');
  const root = readFileSync(rootPath, 'utf8');
  const rootSpec = commonOptions(0);
  const rootText = withTable(root, rootSpec).replace(markdownTable(rootSpec), commonTable());
  return Promise.all([
    Promise.resolve({ path: rootPath, text: rootText }),
    ...Object.values(components).map(async (entry) => {
      const path = join(repoRoot, entry.dir, 'README.md');
      const component = await entry.load();
      return { path, text: withTable(readFileSync(path, 'utf8'), fullSpec(component), component.name) };
    }),
  ]);
}

async function main(): Promise<void> {
  for (const { path, text } of await expectedReadmes()) {
    if (readFileSync(path, 'utf8') === text) continue;
    writeFileSync(path, text);
    console.log(`updated ${path}`);
  }
}

if (process.argv[1] === import.meta.filename) await main();
