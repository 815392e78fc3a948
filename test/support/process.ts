/**
 * Real processes for tests: spawn a podkit component (from the built dist/, as the image runs it),
 * learn its bound addresses from its `listening` log lines (so tests can pass port 0 and never race
 * for ports), wait for /readyz, collect its JSON logs, and kill it on teardown. Under tap, every line a
 * component writes to its log stream must follow the log schema (lib/log.ts), or the test fails.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { components, nodeFlagsFor } from '../../components.js';
import { logLevels } from '../../lib/log-levels.js';
import { repoRoot } from '../../scripts/repo-root.js';
import { readJsonLines } from './json-lines.js';
import { waitFor } from './wait.js';

export { repoRoot };
export const distDir = join(repoRoot, 'dist');
export const cliPath = join(distDir, 'cli.js');

export interface LogLine {
  level?: string;
  msg?: string;
  component?: string;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The part of a tap Test these helpers use, so they also work outside tap (benchmarks, demo). */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Extra node flags, e.g. --max-old-space-size. */
  nodeArgs?: string[];
  /** `pipe` to write to the process's stdin (`proc.stdin`); ignored by default. */
  stdin?: 'pipe' | 'ignore';
  /**
   * Where its JSON log lines are: stdout (the default), or stderr for a component whose stdout is its
   * output (log-normalizer): then stdout is left to the caller, unread, as `proc.stdout`.
   */
  logsFrom?: 'stdout' | 'stderr';
}

/** Checking the log schema: the component every line must name. */
interface SchemaCheck {
  component: string;
}

const isoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** What is wrong with one line of a component's log stream, or undefined when it follows the schema. */
export function schemaProblem(line: string, component: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return 'not a JSON object';
  const { time, level, component: named, msg } = parsed as Record<string, unknown>;
  if (typeof time !== 'string' || !isoTime.test(time)) return '`time` is not an ISO 8601 time';
  if (typeof level !== 'string' || !(logLevels as readonly string[]).includes(level))
    return '`level` is not a level label';
  if (named !== component) return `\`component\` is not ${JSON.stringify(component)}`;
  if (typeof msg !== 'string' || !msg) return '`msg` is missing';
  return undefined;
}

export class Spawned {
  readonly logs: LogLine[] = [];
  /** Log-stream lines that were not JSON, and all of the other stream. */
  readonly text: string[] = [];
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  readonly #waiters = new Set<() => void>();

  /** Log-stream lines that break the schema, each with what is wrong (only when checked). */
  readonly schemaViolations: string[] = [];
  /** Resolves once the streams read here have ended and every line has been read. */
  readonly drained: Promise<void>;

  constructor(
    readonly proc: ChildProcess,
    { logsFrom = 'stdout', schema }: { logsFrom?: 'stdout' | 'stderr'; schema?: SchemaCheck } = {},
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        this.#notify();
        resolve({ code, signal });
      });
    });
    const readLines = (stream: NodeJS.ReadableStream | null, onLine: (line: string) => void) => {
      if (!stream) return Promise.resolve();
      return readJsonLines(stream, (line) => {
        onLine(line);
        this.#notify();
      });
    };
    const logLine = (line: string) => {
      const problem = schema ? schemaProblem(line, schema.component) : undefined;
      if (problem) this.schemaViolations.push(`${problem}: ${line}`);
      try {
        const parsed = JSON.parse(line) as unknown;
        if (parsed && typeof parsed === 'object') this.logs.push(parsed as LogLine);
        else this.text.push(line);
      } catch {
        this.text.push(line);
      }
    };
    const textLine = (line: string) => {
      this.text.push(line);
    };
    // A component whose stdout is its output (log-normalizer) logs to stderr; its stdout is left to the
    // caller, unread here, so a test can hold it back (backpressure) or read it as it likes.
    this.drained = Promise.all(
      logsFrom === 'stdout'
        ? [readLines(proc.stdout, logLine), readLines(proc.stderr, textLine)]
        : [readLines(proc.stderr, logLine)],
    ).then(() => {});
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  #notify(): void {
    for (const waiter of this.#waiters) waiter();
  }

  /** Resolves with the first log line (already seen or future) that matches; rejects on exit or timeout. */
  waitForLog(match: string | ((line: LogLine) => boolean), timeoutMs = 10_000): Promise<LogLine> {
    const test = typeof match === 'string' ? (line: LogLine) => line.msg === match : match;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.logs.find(test);
        if (found) return done(() => resolve(found));
        if (this.#exit) {
          return done(() =>
            reject(
              new Error(
                `process exited (${JSON.stringify(this.#exit)}) before log ${String(match)}\n${this.transcript()}`,
              ),
            ),
          );
        }
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`no log ${String(match)} within ${timeoutMs} ms\n${this.transcript()}`)),
          ),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** The address a listener reported in its `listening` log line, e.g. `127.0.0.1:40123`. */
  async address(listener: string, timeoutMs = 10_000): Promise<string> {
    const line = await this.waitForLog((l) => l.msg === 'listening' && l.listener === listener, timeoutMs);
    return String(line.address).replace('0.0.0.0', '127.0.0.1');
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.#exit) this.proc.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited in time. */
  async stop(timeoutMs = 15_000): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  transcript(): string {
    const lines = [...this.logs.map((line) => JSON.stringify(line)), ...this.text];
    return lines.slice(-60).join('\n');
  }
}

function childEnv(extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  // tap's loaders (TypeScript, coverage) are for the test process; children run built JavaScript.
  const { NODE_OPTIONS: _drop, ...rest } = process.env;
  return { ...rest, ...extra };
}

export function spawnNode(
  t: Teardown,
  script: string,
  args: readonly string[],
  options: SpawnOptions & { schema?: SchemaCheck } = {},
): Spawned {
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: childEnv(options.env),
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  const spawned = new Spawned(proc, {
    ...(options.logsFrom ? { logsFrom: options.logsFrom } : {}),
    // Only under tap: benchmarks and the demo run components too, and have no test to fail.
    ...(options.schema && process.env.TAP ? { schema: options.schema } : {}),
  });
  t.teardown(async () => {
    if (!spawned.exit) {
      proc.kill('SIGKILL');
      await spawned.exited;
    }
    // Bounded: a grandchild that inherited the pipes (a hook, say) may hold them open after the exit.
    await Promise.race([spawned.drained, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    if (spawned.schemaViolations.length) {
      throw new Error(
        `${options.schema?.component} wrote log lines outside the log schema (time, level, component, msg):\n${spawned.schemaViolations.slice(0, 10).join('\n')}`,
      );
    }
  });
  return spawned;
}

/** `podkit <args>` from dist/, with the node flags its image runs it with, not waiting for anything. */
export function spawnPodkit(t: Teardown, args: readonly string[], options: SpawnOptions = {}): Spawned {
  return spawnNode(t, cliPath, args, {
    ...options,
    // As in the images: a node flag that changed a component's behaviour would show up here.
    nodeArgs: [...nodeFlagsFor(args[0]), ...(options.nodeArgs ?? [])],
    // A component whose stdout is its output logs to stderr (its entry in components.ts says so).
    logsFrom: options.logsFrom ?? components[args[0] ?? '']?.logTo ?? 'stdout',
    ...(args[0] && !args[0].startsWith('-') ? { schema: { component: args[0] } } : {}),
  });
}

export interface Started extends Spawned {
  adminUrl: string;
}

/**
 * Starts a component with its admin server on a free port, then waits until /readyz answers 200
 * (unless `ready: false`). `script` runs a fixture instead of the CLI.
 */
export async function startComponent(
  t: Teardown,
  component: string,
  args: readonly string[],
  options: SpawnOptions & { ready?: boolean; timeoutMs?: number; script?: string } = {},
): Promise<Started> {
  const withAdmin = args.some((arg) => arg.startsWith('--admin-address'))
    ? args
    : [...args, '--admin-address', '127.0.0.1:0'];
  const spawned = options.script
    ? spawnNode(t, options.script, withAdmin, { ...options, schema: { component } })
    : spawnPodkit(t, [component, ...withAdmin], options);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const adminUrl = `http://${await spawned.address('admin', timeoutMs)}`;
  if (options.ready !== false) {
    await waitFor(async () => (await fetch(`${adminUrl}/readyz`).catch(() => undefined))?.status === 200, {
      timeoutMs,
      what: `${component} /readyz 200\n${spawned.transcript()}`,
    });
  }
  return Object.assign(spawned, { adminUrl });
}

/** Runs to completion and returns exit code, stdout and stderr (for `--help`, config errors, one-shot modes). */
export async function runPodkit(
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [...nodeFlagsFor(args[0]), cliPath, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  proc.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * Resolves once `child` has said `ready` on stderr (its own "listening" line: an open port alone could be
 * another process's); rejects with what it said if it ends first. Its stderr must be a pipe.
 */
export async function waitForReadyLine(child: ChildProcess, ready: string, what: string): Promise<void> {
  let said = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    // Enough to hold the ready line and a start-up error; the rest is drained and dropped.
    if (said.length < 16_384) said += text;
  });
  await waitFor(
    () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${what} exited at start: ${said.trim()}`);
      return said.includes(ready);
    },
    { what },
  );
}

/** Whether a process with this pid exists (a zombie counts until it is reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
