/**
 * npm run demo [-- --random-ports]
 *
 * Runs the legacy app and every podkit component that exists so far as local processes wired like one
 * pod (shared loopback, shared directories), prints what to open and what to try, and stops everything
 * cleanly on Ctrl-C. Each component issue adds its container to `podContainers` below.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { repoRoot } from './repo-root.js';

interface DemoContainer {
  name: string;
  /** Script under dist/ and its arguments. */
  script: string;
  args: string[];
  /** URL that answers 2xx once the container is up. */
  readyUrl: string;
  /** Lines for the banner: what to open, what to try. */
  tryLines: string[];
}

interface DemoContext {
  dir: string;
  port(preferred: number): Promise<number>;
}

async function podContainers(ctx: DemoContext): Promise<DemoContainer[]> {
  const appPort = await ctx.port(8080);
  const logDir = join(ctx.dir, 'legacy-logs');
  mkdirSync(logDir, { recursive: true });
  const pidFile = join(ctx.dir, 'legacy-app.pid');
  // The app's config is what config-sync publishes from a directory the user edits (like a ConfigMap).
  const configSource = join(ctx.dir, 'config-source');
  const configDir = join(ctx.dir, 'legacy-config');
  mkdirSync(configSource, { recursive: true });
  writeFileSync(
    join(configSource, 'app.conf'),
    `port = ${appPort}\ngreeting = Hello from the legacy app\nlog_dir = ${logDir}\npid_file = ${pidFile}\n`,
  );
  const config = join(configDir, 'app.conf');
  const configSyncAdmin = await ctx.port(9402);
  return [
    {
      name: 'config-sync',
      script: 'cli.js',
      args: [
        'config-sync',
        '--source',
        'dir',
        '--source-dir',
        configSource,
        '--target-dir',
        configDir,
        '--pid-file',
        pidFile,
        '--health-url',
        `http://127.0.0.1:${appPort}/health`,
        '--health-timeout',
        '5s',
        '--admin-address',
        `127.0.0.1:${configSyncAdmin}`,
      ],
      readyUrl: `http://127.0.0.1:${configSyncAdmin}/readyz`,
      tryLines: [
        `edit ${join(configSource, 'app.conf')} (greeting = Hi)   published into ${configDir}, then SIGHUP: curl http://127.0.0.1:${appPort}/`,
        `add a line "colour = red" there   the app rejects it, /health turns 503, config-sync puts the last good config back`,
        `curl -s http://127.0.0.1:${configSyncAdmin}/metrics | grep podkit_config_sync   syncs, publishes, rollbacks, version`,
        `ls -la ${configDir}   the kubelet's ConfigMap layout: ..data -> a version, app.conf -> ..data/app.conf`,
      ],
    },
    {
      name: 'legacy-app',
      script: 'examples/legacy-app/src/main.js',
      args: ['-c', config],
      readyUrl: `http://127.0.0.1:${appPort}/health`,
      tryLines: [
        `curl http://127.0.0.1:${appPort}/             the legacy app (loopback only, like in a pod)`,
        `curl http://127.0.0.1:${appPort}/stats        its own JSON stats (not Prometheus)`,
        `reads ${config}, kept by config-sync; kill -HUP $(cat ${pidFile}) reloads by hand`,
        `tail -f ${join(logDir, 'info.log')} ${join(logDir, 'error.log')}   its plain-text logs (curl /fail for a stack trace)`,
      ],
    },
  ];
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function anyPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
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

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'random-ports': { type: 'boolean', default: false } } });
  const dir = mkdtempSync(join(tmpdir(), 'podkit-demo-'));
  const ctx: DemoContext = {
    dir,
    port: async (preferred) =>
      !values['random-ports'] && (await portFree(preferred)) ? preferred : anyPort(),
  };
  const containers = await podContainers(ctx);
  const running: { name: string; child: ChildProcess }[] = [];
  let stopping = false;

  const stopAll = async (): Promise<number> => {
    stopping = true;
    let failures = 0;
    // Reverse order, as the kubelet stops sidecars after the app they serve.
    for (const { name, child } of [...running].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      if (code !== 0) failures++;
      console.log(`demo: ${name} stopped (exit ${code})`);
    }
    rmSync(dir, { recursive: true, force: true });
    return failures === 0 ? 0 : 1;
  };

  try {
    for (const container of containers) {
      const child = spawn(process.execPath, [join(repoRoot, 'dist', container.script), ...container.args], {
        stdio: ['ignore', 'inherit', 'inherit'],
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
      '== podkit demo: one pod, run as local processes ==',
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
