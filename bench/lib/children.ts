/**
 * The processes a side-by-side benchmark starts (nginx, podkit, bare Node proxies, upstreams): each on
 * a free loopback port, waited for until it serves, and stopped at the end whatever happened.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` with curl until it answers 2xx; fails if the child exits first. */
export async function waitUntilServing(url: string, child: ChildProcess, name: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      execFileSync('curl', ['-sk', '-o', '/dev/null', '--fail', '--max-time', '1', url], { stdio: 'ignore' });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${name} did not serve ${url}`);
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Starts children and stops every one of them at `stopAll()`. */
export function children() {
  const started: ChildProcess[] = [];
  return {
    start(command: string, args: string[]): ChildProcess {
      const child = spawn(command, args, { stdio: 'ignore' });
      started.push(child);
      return child;
    },
    async stopAll(): Promise<void> {
      for (const child of started) await stop(child);
    },
  };
}

/**
 * An nginx configuration in `dir` that runs as the current user in the foreground, with its pid, logs
 * and temp paths in `dir` and long-lived keep-alive connections; `body` goes inside `http { }`.
 */
export function nginxConfig(dir: string, name: string, workers: number, body: string): string {
  const path = join(dir, `${name}.conf`);
  const temp = join(dir, `${name}-tmp`);
  writeFileSync(
    path,
    `worker_processes ${workers};
daemon off;
pid ${join(dir, `${name}.pid`)};
error_log ${join(dir, `${name}-error.log`)} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${temp}-body; proxy_temp_path ${temp}-proxy; fastcgi_temp_path ${temp}-fcgi;
  uwsgi_temp_path ${temp}-uwsgi; scgi_temp_path ${temp}-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
${body}
}
`,
  );
  return path;
}
