/**
 * The demos' processes: each container started from dist/ in its own process group, waited for until it
 * answers, and stopped in reverse order on Ctrl-C, as the kubelet stops sidecars after the app they serve.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeFlagsFor } from '../../components.js';
import { repoRoot } from '../repo-root.js';
import type { DemoContainer } from './context.js';

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export function anyPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The preferred port when free (so banners show familiar numbers), else any free port. */
export async function demoPort(preferred: number, randomPorts: boolean): Promise<number> {
  return !randomPorts && (await portFree(preferred)) ? preferred : anyPort();
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

export class DemoProcesses {
  private readonly running: { name: string; child: ChildProcess }[] = [];
  private stopping = false;

  constructor(private readonly prefix: string) {
    // If the demo itself dies, its processes go with it (they are in their own process groups).
    process.once('exit', () => {
      for (const { child } of this.running) child.kill('SIGKILL');
    });
  }

  /** Starts each container in order, each once the one before answers. */
  async start(containers: readonly DemoContainer[]): Promise<void> {
    for (const container of containers) {
      // detached: each in its own process group, so a terminal's Ctrl-C reaches only the demo, which then
      // stops them one by one (a group-wide SIGINT would race the orderly stop).
      // Components run with their images' node flags.
      const flags = container.script === 'cli.js' ? nodeFlagsFor(container.args[0]) : [];
      const script = join(repoRoot, 'dist', container.script);
      const child = spawn(process.execPath, [...flags, script, ...container.args], {
        stdio: ['ignore', 'inherit', 'inherit'],
        detached: true,
        ...(container.env ? { env: { ...process.env, ...container.env } } : {}),
      });
      this.running.push({ name: container.name, child });
      child.once('exit', (code) => {
        if (!this.stopping)
          console.error(`${this.prefix}: ${container.name} exited unexpectedly (code ${code})`);
      });
      await waitReady(container.readyUrl, child, container.name);
    }
  }

  /** Each container started so far and its process id, in start order (a benchmark reads their memory). */
  pids(): { name: string; pid: number }[] {
    return this.running.flatMap(({ name, child }) =>
      child.pid === undefined ? [] : [{ name, pid: child.pid }],
    );
  }

  /** SIGTERM to each, newest first; the number of those that did not exit 0. */
  async stop(): Promise<number> {
    this.stopping = true;
    let failures = 0;
    for (const { name, child } of [...this.running].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) failures++;
      console.log(`${this.prefix}: ${name} stopped (exit ${code})`);
    }
    return failures;
  }
}

/** Resolves on Ctrl-C or SIGTERM. */
export function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
