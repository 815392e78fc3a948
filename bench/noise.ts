/**
 * npm run bench -- noise: the same server as both sides of a comparison. The ratio it prints is the
 * harness's noise floor on this machine; a podkit-vs-anchor ratio within it is parity.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../scripts/repo-root.js';
import { compare, formatComparison } from './lib/side-by-side.js';
import { wrk } from './lib/wrk.js';

async function startLegacyApp(dir: string, name: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const config = join(dir, `${name}.conf`);
  writeFileSync(config, `port = ${port}\nlog_dir = ${join(dir, name)}\n`);
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'dist/examples/legacy-app/src/main.js'), '-c', config],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, child };
    await sleep(50);
  }
  throw new Error(`${name} did not start`);
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-noise-'));
  const a = await startLegacyApp(dir, 'a');
  const b = await startLegacyApp(dir, 'b');
  try {
    const result = await compare(
      'noise floor: legacy-app vs an identical legacy-app',
      { name: 'legacy-app A', load: () => wrk({ url: a.url, durationSeconds: 5, connections: 16 }) },
      { name: 'legacy-app B', load: () => wrk({ url: b.url, durationSeconds: 5, connections: 16 }) },
    );
    return formatComparison(result);
  } finally {
    a.child.kill();
    b.child.kill();
  }
}
