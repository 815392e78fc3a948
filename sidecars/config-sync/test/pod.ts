/**
 * A pod on this machine: the real legacy app and config-sync as two processes in their own PID namespace
 * (`unshare --pid --mount-proc`, what `shareProcessNamespace: true` gives containers), sharing a config
 * directory. Inside the namespace config-sync sees only this pod's processes, so finding the app by name
 * cannot reach another test's legacy-app on the same machine. config-sync first runs once as an init
 * container would, so the app finds its config when it starts.
 */

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpRequest } from '../../../test/support/http.js';
import { freePort } from '../../../test/support/ports.js';
import { cliPath, distDir, runPodkit, Spawned, type Teardown } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { tempDir } from './helpers.js';

export const appScript = join(distDir, 'examples', 'legacy-app', 'src', 'main.js');

export interface Pod {
  sync: Spawned;
  adminUrl: string;
  appUrl: string;
  /** The plain directory config-sync reads (--source dir). */
  source: string;
  target: string;
  pidFile: string;
  /** The app's config file in the source, before the given extra lines. */
  baseConfig: string;
  writeSource(extra: string): void;
  stats(): Promise<{ config: { generation: number; reloads: number; failed_reloads: number } }>;
}

function childEnv(): NodeJS.ProcessEnv {
  // tap's loaders are for the test process; the pod's processes run built JavaScript.
  const { NODE_OPTIONS: _drop, ...env } = process.env;
  return env;
}

/** Starts the pod; `syncArgs(pod)` gives config-sync's options beyond source and target. */
export async function startPod(
  t: Teardown,
  syncArgs: (paths: { pidFile: string; appUrl: string; source: string }) => string[],
): Promise<Pod> {
  const dir = tempDir('podkit-config-sync-pod-');
  const source = join(dir, 'source');
  const target = join(dir, 'config');
  mkdirSync(source);
  const port = await freePort();
  const pidFile = join(dir, 'legacy-app.pid');
  const appUrl = `http://127.0.0.1:${port}`;
  const baseConfig = `port = ${port}\nlog_dir = ${join(dir, 'logs')}\npid_file = ${pidFile}\n`;
  const writeSource = (extra: string) => writeFileSync(join(source, 'app.conf'), `${baseConfig}${extra}`);
  writeSource('greeting = first\n');

  const init = await runPodkit([
    'config-sync',
    '--one-time',
    '--source',
    'dir',
    '--source-dir',
    source,
    '--target-dir',
    target,
    '--admin-address',
    '127.0.0.1:0',
  ]);
  if (init.code !== 0) throw new Error(`init container failed (${init.code}): ${init.stdout}${init.stderr}`);

  const args = [
    '--source',
    'dir',
    '--source-dir',
    source,
    '--target-dir',
    target,
    '--admin-address',
    '127.0.0.1:0',
    ...syncArgs({ pidFile, appUrl, source }),
  ];
  // The app in the background, then config-sync in the foreground: its output is this process's.
  const appOut = join(dir, 'app.out');
  const script =
    '"$NODE" "$APP" -c "$TARGET/app.conf" >"$APP_OUT" 2>&1 & exec "$NODE" "$CLI" config-sync "$@"';
  const proc = spawn(
    'unshare',
    ['--pid', '--fork', '--kill-child', '--mount-proc', 'sh', '-c', script, 'pod', ...args],
    {
      env: {
        ...childEnv(),
        NODE: process.execPath,
        APP: appScript,
        TARGET: target,
        APP_OUT: appOut,
        CLI: cliPath,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const sync = new Spawned(proc);
  t.teardown(async () => {
    // Killing unshare kills the namespace's first process, and with it every process in the namespace.
    if (!sync.exit) {
      proc.kill('SIGKILL');
      await sync.exited;
    }
  });
  // Generous: on a machine shared by several test runs, a Node start-up can take many seconds.
  const adminUrl = `http://${await sync.address('admin', 60_000).catch((err: Error) => {
    const app = (() => {
      try {
        return readFileSync(appOut, 'utf8').slice(-2000);
      } catch {
        return '(none yet)';
      }
    })();
    throw new Error(`${err.message}\napp output: ${app}`);
  })}`;
  await waitFor(async () => (await httpRequest(`${appUrl}/health`).catch(() => undefined))?.status === 200, {
    timeoutMs: 60_000,
    what: `legacy app healthy\n${sync.transcript()}`,
  });
  await waitFor(
    async () => (await httpRequest(`${adminUrl}/readyz`).catch(() => undefined))?.status === 200,
    {
      timeoutMs: 60_000,
      what: `config-sync ready\n${sync.transcript()}`,
    },
  );
  return {
    sync,
    adminUrl,
    appUrl,
    source,
    target,
    pidFile,
    baseConfig,
    writeSource,
    async stats() {
      return JSON.parse((await httpRequest(`${appUrl}/stats`)).body);
    },
  };
}

/** What the app answers at / (its greeting). */
export async function greeting(pod: Pod): Promise<string> {
  return (await httpRequest(`${pod.appUrl}/`)).body.trim();
}
