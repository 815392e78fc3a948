/**
 * npm run demo [-- --random-ports]
 *
 * Runs the legacy app and every podkit component as local processes wired like pods (shared loopback,
 * shared directories), prints what to open and what to try, and stops everything cleanly on Ctrl-C.
 * The pods are in scripts/demo/: each component issue adds its container there.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type MariaDb, mariaDbAvailable, startMariaDb } from '../test/support/mariadb.js';
import { canaryPod } from './demo/canary-pod.js';
import type { DemoContainer, DemoContext } from './demo/context.js';
import { legacyPod } from './demo/legacy-pod.js';
import { paasPod } from './demo/paas-pod.js';
import { DemoProcesses, demoPort, untilInterrupted } from './demo/processes.js';

function demoContext(dir: string, randomPorts: boolean, teardowns: (() => unknown)[]): DemoContext {
  let database: Promise<MariaDb | undefined> | undefined;
  const teardown = (fn: () => unknown) => teardowns.push(fn);
  return {
    dir,
    port: (preferred) => demoPort(preferred, randomPorts),
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
  const processes = new DemoProcesses('demo');
  const stopAll = async (): Promise<number> => {
    const failures = await processes.stop();
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
    return failures === 0 ? 0 : 1;
  };

  let containers: DemoContainer[] = [];
  try {
    containers = [...(await legacyPod(ctx)), ...(await paasPod(ctx)), ...(await canaryPod(ctx))];
    await processes.start(containers);
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

  await untilInterrupted();
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
