/**
 * npm run bench -- startup: start -> ready time and idle RSS for every component in this build, beside
 * a bare node HTTP app (the legacy example) as the floor any Node process pays.
 */

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { components } from '../components.js';
import { repoRoot } from '../scripts/repo-root.js';
import { type Footprint, formatFootprints, measureFootprint } from './lib/process-stats.js';

/** Arguments that let each component start and become ready on this machine. Add one per component. */
const startupArgs: Record<string, (dir: string) => Promise<string[]>> = {
  'config-sync': async (dir) => {
    const source = join(dir, 'config-sync-source');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'app.conf'), 'greeting = hello\n');
    return ['--source', 'dir', '--source-dir', source, '--target-dir', join(dir, 'config-sync-target')];
  },
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-startup-'));
  const rows: Footprint[] = [];

  const appPort = await freePort();
  const config = join(dir, 'legacy.conf');
  writeFileSync(config, `port = ${appPort}\nlog_dir = ${join(dir, 'logs')}\n`);
  rows.push(
    await measureFootprint(
      'legacy-app (bare node http, the floor)',
      process.execPath,
      [join(repoRoot, 'dist/examples/legacy-app/src/main.js'), '-c', config],
      () => `http://127.0.0.1:${appPort}/health`,
    ),
  );

  for (const name of Object.keys(components).sort()) {
    const args = startupArgs[name];
    if (!args)
      throw new Error(`bench/startup.ts has no start-up arguments for ${name}: add them to startupArgs`);
    const adminPort = await freePort();
    rows.push(
      await measureFootprint(
        name,
        process.execPath,
        [
          join(repoRoot, 'dist/cli.js'),
          name,
          '--admin-address',
          `127.0.0.1:${adminPort}`,
          ...(await args(dir)),
        ],
        () => `http://127.0.0.1:${adminPort}/readyz`,
      ),
    );
  }
  return `## start -> ready and idle RSS\n\n${formatFootprints(rows)}`;
}
