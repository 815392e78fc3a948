/**
 * The dir source: a mounted ConfigMap volume, or a plain directory someone edits. A mounted volume is
 * read through its `..data` link, and the link is read again afterwards: if the kubelet swapped it in
 * between, the read is repeated, so one snapshot is always exactly one version of the volume.
 */

import { lstat, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeError, ErrorCode, PodkitError } from '../../../lib/errors.js';
import { type FileWatch, watchFiles } from '../../../lib/file-watch.js';
import { readTree } from './layout.js';
import { type Snapshot, snapshot } from './snapshot.js';
import type { Source, SourceEvents } from './source.js';

const maxAttempts = 10;

/** Editor leftovers and hidden files in a plain directory are not configuration. */
function isEditorNoise(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~');
}

export async function readSourceDir(dir: string): Promise<Snapshot> {
  try {
    const link = join(dir, '..data');
    const isVolume = (await lstat(link).catch(() => undefined))?.isSymbolicLink() ?? false;
    if (!isVolume) return snapshot(await readTree(dir, { skip: isEditorNoise }));
    for (let attempt = 1; ; attempt++) {
      const before = await readlink(link);
      const files = await readTree(resolve(dir, before)).catch((err: NodeJS.ErrnoException) => {
        // The version just read from was swapped out and removed meanwhile: read the new one.
        if (err.code === 'ENOENT' && attempt < maxAttempts) return undefined;
        throw err;
      });
      if (files && (await readlink(link)) === before) return snapshot(files);
      if (attempt >= maxAttempts) throw new Error(`..data changed during ${maxAttempts} reads in a row`);
    }
  } catch (err) {
    throw new PodkitError(ErrorCode.SOURCE, `cannot read --source-dir ${dir}: ${describeError(err)}`, {
      cause: err,
    });
  }
}

export class DirSource implements Source {
  #watch: FileWatch | undefined;
  #events: SourceEvents | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(
    readonly dir: string,
    readonly pollIntervalMs: number,
  ) {}

  read(): Promise<Snapshot> {
    return readSourceDir(this.dir);
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
          if (!this.#closed) this.#events?.error(err as Error);
        }
      } while (this.#again && !this.#closed);
      this.#reading = undefined;
    })();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#watch?.close();
    await this.#reading;
  }
}
