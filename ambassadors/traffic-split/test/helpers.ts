/**
 * What the traffic-split tests share: versions of an app as real processes (test/fixtures/http-upstream),
 * the split as a real process with its listener read back from its log, a keep-alive client that sends
 * many requests at a bounded concurrency, and metrics read from /metrics.
 */

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  distDir,
  type Spawned,
  type Started,
  spawnNode,
  startComponent,
  type Teardown,
} from '../../../test/support/process.js';

export interface AppVersion {
  name: string;
  port: number;
  url: string;
  process: Spawned;
  /** Requests it received, with --log-requests. */
  received(): { method: string; url: string; rawHeaders: string[]; body: Buffer }[];
}

/** A version of the app in a process of its own. */
export async function startVersion(
  t: Teardown,
  name: string,
  options: {
    delayMs?: number;
    logRequests?: boolean;
    fields?: Record<string, string | number>;
    port?: number;
  } = {},
): Promise<AppVersion> {
  const args = ['--name', name, '--port', String(options.port ?? 0)];
  if (options.delayMs) args.push('--delay-ms', String(options.delayMs));
  if (options.logRequests) args.push('--log-requests');
  for (const [key, value] of Object.entries(options.fields ?? {})) args.push('--field', `${key}=${value}`);
  const spawned = spawnNode(t, join(distDir, 'test', 'fixtures', 'http-upstream.js'), args);
  const line = await spawned.waitForLog((l) => typeof l.listening === 'number');
  const port = line.listening as number;
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    process: spawned,
    received: () =>
      spawned.logs
        .filter((l) => l.request)
        .map((l) => {
          const r = l.request as { method: string; url: string; rawHeaders: string[]; body: string };
          return { ...r, body: Buffer.from(r.body, 'base64') };
        }),
  };
}

export interface SplitProcess extends Started {
  url: string;
}

export async function startSplit(
  t: Teardown,
  args: readonly string[],
  options: { ready?: boolean } = {},
): Promise<SplitProcess> {
  const split = await startComponent(t, 'traffic-split', ['--listen', '127.0.0.1:0', ...args], options);
  return Object.assign(split, { url: `http://${await split.address('split')}` });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** One request; resolves with the answer (never rejects: a failure is status 0 with the error as body). */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent } = {},
): Promise<Answer> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            ms: performance.now() - startedAt,
          }),
        );
        res.on('error', (err) => resolve({ status: 0, headers: {}, body: err.message, ms: 0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, headers: {}, body: err.message, ms: 0 }));
    req.end(options.body);
  });
}

/** `count` requests, `concurrency` at a time on kept-alive connections; `make(i)` says what to send. */
export async function sendMany(
  url: string,
  count: number,
  make: (i: number) => Parameters<typeof send>[1] & { path?: string } = () => ({}),
  concurrency = 16,
): Promise<Answer[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const answers: Answer[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const { path = '/', ...options } = make(i);
      answers[i] = await send(`${url}${path}`, { ...options, agent });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return answers;
}

/** Requests, `concurrency` at a time on kept-alive connections, until stopped; the answers as they come. */
export function runLoad(url: string, concurrency = 8) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const answers: Answer[] = [];
  let stopped = false;
  const worker = async () => {
    while (!stopped) answers.push(await send(url, { agent }));
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker));
  return {
    answers,
    async stop(): Promise<Answer[]> {
      stopped = true;
      await done;
      agent.destroy();
      return answers;
    },
  };
}

/** A sample's value from /metrics (0 when the series is absent). */
export async function metric(
  adminUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((pair) => line.includes(pair))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** A config file in a fresh directory; `write` replaces its text (renamed into place). */
export function configFile(text: string): { path: string; write(text: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-traffic-split-'));
  const path = join(dir, 'split.yaml');
  const write = (next: string) => {
    writeFileSync(`${path}.tmp`, next);
    renameSync(`${path}.tmp`, path);
  };
  write(text);
  return { path, write };
}

/** The version that answered, by the response header. */
export function versionOf(answer: Answer): string {
  return String(answer.headers['x-podkit-variant']);
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
