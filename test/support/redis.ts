/**
 * A private Redis for a test: Debian's `redis-server` on a free loopback port with a temporary
 * directory, no persistence, owned by the test (stopped, started again on the same port, killed on
 * teardown and when the test process exits).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import type { Teardown } from './process.js';
import { waitFor } from './wait.js';

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops the server (SIGTERM); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

const running = new Map<ChildProcess, string>();
process.once('exit', () => {
  for (const [proc, dir] of running) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

export function redisServerBinary(): string | undefined {
  return ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path));
}

export async function startRedis(t: Teardown, args: string[] = []): Promise<RedisServer> {
  const binary = redisServerBinary();
  if (!binary)
    throw new Error(
      'redis-server is not installed (Debian package redis-server; scripts/ensure-system.sh test)',
    );
  const dir = await mkdtemp(join(tmpdir(), 'podkit-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    let said = '';
    const child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc = child;
    running.set(child, dir);
    exited = new Promise((resolve) =>
      child.once('exit', () => {
        running.delete(child);
        resolve();
      }),
    );
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      if (said.length < 16_384) said += text;
    });
    child.stderr?.resume();
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited at start: ${said.trim()}`);
        return said.includes('Ready to accept connections');
      },
      { timeoutMs: 15_000, what: `redis-server on port ${port}` },
    );
  };
  const stop = async () => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    await exited;
  };
  t.teardown(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start };
}
