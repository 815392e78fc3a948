/**
 * What git-pull tests share: start the real process against a real remote, and read what a user would
 * look at (the link, files through it, /readyz, metrics, the log).
 */

import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { httpRequest } from '../../../test/support/http.js';
import {
  type SpawnOptions,
  type Started,
  startComponent,
  type Teardown,
} from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';

export function tempDir(t: Teardown, prefix = 'podkit-git-pull-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface GitPull extends Started {
  root: string;
  link: string;
  /** The hash the link points at now, or undefined when there is no link. */
  live(): string | undefined;
  /** A file read through the link, as the app reads it. */
  read(path: string): string;
  waitLive(hash: string, timeoutMs?: number): Promise<void>;
  metrics(): Promise<string>;
  readyStatus(): Promise<number>;
}

export async function startGitPull(
  t: Teardown,
  args: string[],
  options: SpawnOptions & { ready?: boolean; root?: string; link?: string } = {},
): Promise<GitPull> {
  const root = options.root ?? join(tempDir(t), 'root');
  const link = options.link ?? 'current';
  // Generous: a first sync spawns several git (and ssh) processes, which on a loaded 2-core machine
  // shared with other test runs can take many seconds.
  const started = await startComponent(t, 'git-pull', ['--root', root, '--link', link, ...args], {
    timeoutMs: 60_000,
    ...options,
  });
  const live = () => {
    try {
      return basename(readlinkSync(join(root, link)));
    } catch {
      return undefined;
    }
  };
  return Object.assign(started, {
    root,
    link,
    live,
    read: (path: string) => readFileSync(join(root, link, path), 'utf8'),
    waitLive: (hash: string, timeoutMs = 60_000) =>
      waitFor(() => live() === hash, {
        timeoutMs,
        what: `${hash} live (now ${live()})\n${started.transcript()}`,
      }),
    metrics: async () => (await httpRequest(`${started.adminUrl}/metrics`)).body,
    readyStatus: async () => (await httpRequest(`${started.adminUrl}/readyz`)).status,
  });
}

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[4]);
  }
  return undefined;
}

/** `promtool check metrics` on a scrape: exit 0 means no parse errors and no lint findings. */
export function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

export interface CommandShim {
  /** Put first on PATH. */
  dir: string;
  /** The arguments of every run, one line each (space-joined). */
  runs(): string[];
  /** For git: everything GIT_TRACE wrote (the commands git itself started, helpers included). */
  trace(): string;
}

/**
 * A `name` on PATH that appends its arguments to a file, then execs the real one: every run is seen,
 * however short (sampling /proc can miss a git that lives a few milliseconds). A git shim also turns on
 * GIT_TRACE, so the commands git starts itself (remote helpers, ssh, credential helpers) are logged too.
 */
export function commandShim(t: Teardown, name: 'git' | 'ssh'): CommandShim {
  const dir = tempDir(t, `podkit-${name}-shim-`);
  const real = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  const log = join(dir, 'runs.log');
  const trace = join(dir, 'trace.log');
  const traceLine = name === 'git' ? `GIT_TRACE='${trace}'; export GIT_TRACE\n` : '';
  writeFileSync(
    join(dir, name),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n${traceLine}exec '${real}' "$@"\n`,
  );
  chmodSync(join(dir, name), 0o755);
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  return {
    dir,
    runs: () => read(log).split('\n').filter(Boolean),
    trace: () => read(trace),
  };
}

/** The environment that puts shims first on PATH. */
export function withShims(...shims: CommandShim[]): NodeJS.ProcessEnv {
  return { PATH: [...shims.map((shim) => shim.dir), process.env.PATH].join(':') };
}
