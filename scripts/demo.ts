/**
 * npm run demo [-- --random-ports]
 *
 * Runs the legacy app and every podkit component as local processes wired like pods (shared loopback,
 * shared directories), prints what to open and what to try, and stops everything cleanly on Ctrl-C.
 * The pods are in scripts/demo/: each component issue adds its container there.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { nodeFlagsFor } from '../components.js';
import { type MariaDb, mariaDbAvailable, startMariaDb } from '../test/support/mariadb.js';
import { canaryPod } from './demo/canary-pod.js';
import type { DemoContainer, DemoContext } from './demo/context.js';
import { legacyPod } from './demo/legacy-pod.js';
import { paasPod } from './demo/paas-pod.js';
import { repoRoot } from './repo-root.js';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function anyPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with code ${child.exitCode} during start-up`);
    const ok = await fetch(url)
      .then((res) => res.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${name} did not become ready at ${url}`);
}

function demoContext(dir: string, randomPorts: boolean, teardowns: (() => unknown)[]): DemoContext {
  let database: Promise<MariaDb | undefined> | undefined;
  const teardown = (fn: () => unknown) => teardowns.push(fn);
  return {
    dir,
    port: async (preferred) => (!randomPorts && (await portFree(preferred)) ? preferred : anyPort()),
    teardown,
    database() {
      database ??= (async () => {
        if (!mariaDbAvailable()) {
          console.log(
            'demo: no mariadbd here (apt-get install mariadb-server): mysql-broker and db-health are left out',
          );
          return undefined;
        }
        return startMariaDb({ teardown });
      })();
      return database;
    },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'random-ports': { type: 'boolean', default: false } } });
  const dir = mkdtempSync(join(tmpdir(), 'podkit-demo-'));
  const teardowns: (() => unknown)[] = [];
  const ctx = demoContext(dir, values['random-ports'], teardowns);
  const running: { name: string; child: ChildProcess }[] = [];
  let stopping = false;

  const stopAll = async (): Promise<number> => {
    stopping = true;
    let failures = 0;
    // Reverse order, as the kubelet stops sidecars after the app they serve.
    for (const { name, child } of [...running].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) failures++;
      console.log(`demo: ${name} stopped (exit ${code})`);
    }
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
    return failures === 0 ? 0 : 1;
  };
  // If the demo itself dies, its processes go with it (they are in their own process groups).
  process.once('exit', () => {
    for (const { child } of running) child.kill('SIGKILL');
  });

  let containers: DemoContainer[] = [];
  try {
    containers = [...(await legacyPod(ctx)), ...(await paasPod(ctx)), ...(await canaryPod(ctx))];
    for (const container of containers) {
      // detached: each in its own process group, so a terminal's Ctrl-C reaches only the demo, which then
      // stops them one by one (a group-wide SIGINT would race the orderly stop).
      // Components run with their images' node flags.
      const flags = container.script === 'cli.js' ? nodeFlagsFor(container.args[0]) : [];
      const script = join(repoRoot, 'dist', container.script);
      const child = spawn(process.execPath, [...flags, script, ...container.args], {
        stdio: ['ignore', 'inherit', 'inherit'],
        detached: true,
      });
      running.push({ name: container.name, child });
      child.once('exit', (code) => {
        if (!stopping) console.error(`demo: ${container.name} exited unexpectedly (code ${code})`);
      });
      await waitReady(container.readyUrl, child, container.name);
    }
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    await stopAll();
    return 1;
  }

  console.log(
    [
      '',
      '== podkit demo: pods, run as local processes ==',
      ...containers.flatMap((c) => [`[${c.name}]`, ...c.tryLines.map((line) => `  ${line}`)]),
      '',
      `files: ${dir}`,
      'Ctrl-C stops everything.',
      'demo ready',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('\ndemo: stopping');
  return stopAll();
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo: ${(err as Error).stack}`);
    process.exit(1);
  },
);
