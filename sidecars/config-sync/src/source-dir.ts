/**
 * The dir source: a mounted ConfigMap volume, or a plain directory someone edits. A mounted volume is
 * read through its `..data` link, and the link is read again afterwards: if the kubelet swapped it in
 * between, the read is repeated, so one snapshot is always exactly one version of the volume.
 */

import { lstat, readlink, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, ErrorCode, PodkitError } from '../../../lib/errors.js';
import { type FileWatch, watchFiles } from '../../../lib/file-watch.js';
import { LinkOutsideError, readTree } from './layout.js';
import { type Snapshot, snapshot } from './snapshot.js';
import type { Source, SourceEvents } from './source.js';

const maxAttempts = 10;
/** How long one-time mode waits for a volume that keeps changing to hold still. */
const settleTimeoutMs = 10_000;
const settlePauseMs = 50;

/** Editor leftovers and hidden files in a plain directory are not configuration. */
function isEditorNoise(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~');
}

/** `..data` moved during every read: something is writing the volume right now; read again shortly. */
export class VolumeChangingError extends PodkitError {
  constructor(dir: string) {
    super(ErrorCode.SOURCE, `--source-dir ${dir}: ..data changed during ${maxAttempts} reads in a row`);
    this.name = 'VolumeChangingError';
  }
}

/** One read of the version `..data` points at, or undefined when `..data` moved meanwhile. */
async function readVersion(
  dir: string,
  link: string,
  within: string,
): Promise<Map<string, Buffer> | undefined> {
  const before = await readlink(link);
  let files: Map<string, Buffer>;
  try {
    files = await readTree(resolve(dir, before), { within });
  } catch (err) {
    // The version being read was swapped out and removed meanwhile.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await readlink(link)) !== before)
      return undefined;
    throw err;
  }
  return (await readlink(link)) === before ? files : undefined;
}

export async function readSourceDir(dir: string): Promise<Snapshot> {
  try {
    // Links are followed only while they stay inside the source directory (the volume, for a mount).
    const within = await realpath(dir);
    const link = join(dir, '..data');
    const isVolume = (await lstat(link).catch(() => undefined))?.isSymbolicLink() ?? false;
    if (!isVolume) return snapshot(await readTree(dir, { skip: isEditorNoise, within }));
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const files = await readVersion(dir, link, within);
      if (files) return snapshot(files);
    }
  } catch (err) {
    if (err instanceof LinkOutsideError) {
      throw new PodkitError(ErrorCode.SOURCE_LINK, `--source-dir ${dir}: ${err.message}`, { cause: err });
    }
    throw new PodkitError(ErrorCode.SOURCE, `cannot read --source-dir ${dir}: ${describeError(err)}`, {
      cause: err,
    });
  }
  throw new VolumeChangingError(dir);
}

export class DirSource implements Source {
  #watch: FileWatch | undefined;
  #events: SourceEvents | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #settle: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly dir: string,
    readonly pollIntervalMs: number,
  ) {}

  async read(): Promise<Snapshot> {
    const deadline = Date.now() + settleTimeoutMs;
    for (;;) {
      try {
        return await readSourceDir(this.dir);
      } catch (err) {
        if (!(err instanceof VolumeChangingError) || Date.now() > deadline) throw err;
        await sleep(settlePauseMs);
      }
    }
  }

  async start(events: SourceEvents): Promise<void> {
    this.#events = events;
    // Watching ..data's directory sees the kubelet's swap, and any file written in a plain directory.
    this.#watch = await watchFiles([join(this.dir, '..data')], () => this.refresh(), {
      debounceMs: 10,
      pollIntervalMs: this.pollIntervalMs,
    });
    this.refresh();
  }

  /** Reads now; a request during a read runs one more read after it, so no change is missed. */
  refresh(): void {
    if (this.#closed) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = (async () => {
      do {
        this.#again = false;
        try {
          const read = await readSourceDir(this.dir);
          if (!this.#closed) this.#events?.snapshot(read);
        } catch (err) {
          if (err instanceof VolumeChangingError) {
            // Not a failure: the writer is mid-burst. Its next swap brings an event; this is the backstop.
            clearTimeout(this.#settle);
            this.#settle = setTimeout(() => this.refresh(), settlePauseMs);
          } else if (!this.#closed) {
            this.#events?.error(err as Error);
          }
        }
      } while (this.#again && !this.#closed);
      this.#reading = undefined;
    })();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#settle);
    await this.#watch?.close();
    await this.#reading;
  }
}
