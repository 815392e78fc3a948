/**
 * What the log-normalizer tests share: the pipeline in-process (bytes in, parsed records out) for the
 * formats and units, and the adapter as a real process whose stdout records are collected apart from
 * its own logs (stderr).
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { readJsonLines } from '../../../test/support/json-lines.js';
import {
  type Spawned,
  type SpawnOptions,
  type Started,
  spawnPodkit,
  startComponent,
  type Teardown,
} from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import type { Level } from '../src/levels.js';
import { parseMultiline } from '../src/multiline.js';
import { Output } from '../src/output.js';
import { Pipeline, type PipelineSettings } from '../src/pipeline.js';
import { Stats } from '../src/stats.js';
import { TimeZone } from '../src/time-zone.js';

export const samples = join(import.meta.dirname, 'samples');
export const sample = (name: string) => readFileSync(join(samples, name));

/** The instant the in-process tests call now: years are inferred from it. */
export const testNow = Date.parse('2024-06-15T12:00:00.000Z');

export type LogRecord = Record<string, unknown>;

export function settings(overrides: Partial<PipelineSettings> = {}): PipelineSettings {
  return {
    format: 'auto',
    pattern: undefined,
    multiline: parseMultiline('auto'),
    multilineTimeoutMs: 500,
    maxLineBytes: 1024 * 1024,
    extras: [],
    time: { zone: new TimeZone('UTC'), now: () => testNow },
    ...overrides,
  };
}

/**
 * Runs bytes through one pipeline (in `chunks` pieces, to cross line boundaries), to the end of input,
 * and answers the records written and the counters.
 */
export async function normalize(
  input: string | Buffer,
  options: { settings?: Partial<PipelineSettings>; source?: string; fileLevel?: Level; chunks?: number } = {},
): Promise<{ records: LogRecord[]; lines: string[]; stats: Stats }> {
  const sink = new PassThrough();
  const parts: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => parts.push(chunk));
  const output = new Output(sink);
  const stats = new Stats();
  const pipeline = new Pipeline(
    options.source ?? 'test.log',
    options.fileLevel,
    settings(options.settings),
    output,
    stats,
    { committed: 0 },
  );
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const pieces = options.chunks ?? 1;
  const size = Math.ceil(bytes.length / pieces) || 1;
  for (let at = 0; at < bytes.length; at += size) {
    // A fresh copy each time, as a read buffer reused between reads would be.
    const chunk = Buffer.from(bytes.subarray(at, Math.min(bytes.length, at + size)));
    pipeline.push(chunk, 0, chunk.length);
  }
  pipeline.end(true);
  await output.settled();
  const lines = Buffer.concat(parts).toString('utf8').split('\n').slice(0, -1);
  return { records: lines.map((line) => JSON.parse(line) as LogRecord), lines, stats };
}

/** A temporary directory removed when the test ends. */
export function tempDir(t: Teardown, prefix = 'podkit-log-normalizer-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Normalizer {
  readonly process: Spawned;
  /** Records from its stdout, in order. */
  readonly records: LogRecord[];
  /** Stdout lines that were not one JSON object (must stay empty). */
  readonly broken: string[];
  waitForRecords(
    count: number | ((records: LogRecord[]) => boolean),
    what: string,
    timeoutMs?: number,
  ): Promise<void>;
}

/** Collects a process's stdout as records. */
export function collectRecords(process: Spawned): Normalizer {
  const records: LogRecord[] = [];
  const broken: string[] = [];
  const stdout = process.proc.stdout;
  if (!stdout) throw new Error('stdout is not a pipe');
  void readJsonLines(stdout, (line) => {
    try {
      const value = JSON.parse(line) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value)) records.push(value as LogRecord);
      else broken.push(line);
    } catch {
      broken.push(line);
    }
  });
  return {
    process,
    records,
    broken,
    async waitForRecords(count, what, timeoutMs = 20_000) {
      const done = typeof count === 'number' ? () => records.length >= count : () => count(records);
      await waitFor(() => done() || process.exit !== undefined, { timeoutMs, what }).catch((err: Error) => {
        const seen = `${records.length} records, ${broken.length} broken lines`;
        throw new Error(`${err.message} (${seen})\n${process.transcript()}`);
      });
      if (!done()) throw new Error(`log-normalizer exited before ${what}\n${process.transcript()}`);
    },
  };
}

/** The adapter following files, its admin server on a free port, ready. */
export async function startNormalizer(
  t: Teardown,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<Normalizer & { process: Started; adminUrl: string }> {
  const started = await startComponent(t, 'log-normalizer', args, { ...options, logsFrom: 'stderr' });
  const normalizer = collectRecords(started);
  return Object.assign(normalizer, { process: started, adminUrl: started.adminUrl });
}

/** The adapter as a filter (`--input -`): stdin is a pipe the test writes. */
export function spawnFilter(t: Teardown, args: readonly string[], options: SpawnOptions = {}): Normalizer {
  const spawned = spawnPodkit(t, ['log-normalizer', '--input', '-', ...args], {
    ...options,
    stdin: 'pipe',
    logsFrom: 'stderr',
  });
  return collectRecords(spawned);
}

/** A metric's value from Prometheus text, 0 when absent. */
export function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** Resident memory of a process in MB, from /proc. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) / 1024;
}
