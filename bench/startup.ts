/**
 * npm run bench -- startup: start -> ready time and idle RSS for every component in this build, beside
 * the floor any of them pays: node serving HTTP and nothing else, with each kind of component's flags.
 */

import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { components, controlPlaneFlags, dataPlaneFlags } from '../components.js';
import { podkitArgs } from './lib/podkit-command.js';
import { type Footprint, formatFootprints, measureFootprint } from './lib/process-stats.js';
import { startupFixtures } from './lib/startup-fixtures.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function run(): Promise<string> {
  // What the fixtures start (a MariaDB, servers in this process) ends with the benchmark's process.
  const fixtures = startupFixtures({
    root: mkdtempSync(join(tmpdir(), 'podkit-bench-startup-')),
    teardown() {},
  });
  const rows: Footprint[] = [];

  for (const [flags, which] of [
    [dataPlaneFlags, 'data-plane'],
    [controlPlaneFlags, 'control-plane'],
  ] as const) {
    const port = await freePort();
    const floor = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
    rows.push(
      await measureFootprint(
        `node:http answering 200 (the floor, ${which} flags)`,
        process.execPath,
        [...flags, '-e', floor],
        () => `http://127.0.0.1:${port}/`,
      ),
    );
  }

  for (const [name, entry] of Object.entries(components).sort(([a], [b]) => a.localeCompare(b))) {
    const args = await entry.startupArgs(fixtures(name));
    const adminPort = await freePort();
    rows.push(
      await measureFootprint(
        name,
        process.execPath,
        [...podkitArgs(name), '--admin-address', `127.0.0.1:${adminPort}`, ...args],
        () => `http://127.0.0.1:${adminPort}/readyz`,
      ),
    );
  }
  return `## start -> ready and idle RSS\n\n${formatFootprints(rows)}`;
}
