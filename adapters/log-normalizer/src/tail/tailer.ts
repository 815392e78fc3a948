/**
 * Following files: the globs are expanded on every directory event and poll tick; each file is read in
 * large chunks from where its records were last written. A file is known by its identity (identity.ts),
 * not its name, so:
 *
 * - rename rotation: the renamed file is still the same file and is read to its end; once it is no
 *   longer under any glob and has not grown for --rotate-wait, it is released (closed);
 * - copytruncate: a file that shrinks, or whose first bytes change, was truncated; what was read of it
 *   waits as an orphan, and the copy (same first bytes, under the glob) carries on from that offset,
 *   while the truncated file is read again from its start; a copy seen before the truncation is left
 *   alone until then;
 * - deleted: read to its end through the open descriptor, then released after --rotate-wait;
 * - restart: saved positions (checkpoint.ts) are matched by fingerprint, preferring the same inode.
 *
 * Reading waits while the output is congested, so memory stays bounded whatever the writers do.
 */

import { fstatSync } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { describeError, ErrorCode } from '../../../../lib/errors.js';
import type { Logger } from '../../../../lib/log.js';
import { levelOfFile } from '../level-files.js';
import type { LevelRule } from '../option-values.js';
import type { Output } from '../output.js';
import { Pipeline, type PipelineSettings } from '../pipeline.js';
import type { Stats } from '../stats.js';
import { type Checkpoints, positionsToSave, type SavedPosition } from './checkpoint.js';
import { type Cursor, type Followed, type Orphan, sameContent } from './followed.js';
import { compileGlob, expandGlob, type Glob } from './glob.js';
import { identify, readPrefix } from './identity.js';
import { copyOfFollowed, type Placement, startFor } from './placement.js';
import { Wake } from './wake.js';

export interface TailerOptions {
  readonly globs: readonly string[];
  readonly settings: PipelineSettings;
  readonly levelRules: readonly LevelRule[];
  readonly output: Output;
  readonly stats: Stats;
  readonly log: Logger;
  readonly checkpoints: Checkpoints | undefined;
  readonly checkpointIntervalMs: number;
  readonly readFrom: 'beginning' | 'end';
  readonly rotateWaitMs: number;
  readonly pollIntervalMs: number;
}

const readChunkBytes = 1024 * 1024;

export class Tailer {
  readonly #files = new Map<string, Followed>();
  /** Where the followed files are, as last seen. */
  #paths = new Set<string>();
  #orphans: Orphan[] = [];
  #saved: SavedPosition[] | undefined;
  #hadState = false;
  #firstScan = true;
  #closing = false;
  readonly #wake = new Wake();
  readonly #globs: Glob[];
  readonly #buffer = Buffer.allocUnsafe(readChunkBytes);
  #loop: Promise<void> = Promise.resolve();
  #checkpointTimer: NodeJS.Timeout | undefined;
  #saving: Promise<void> = Promise.resolve();
  /** Renames and truncations seen, for the metrics. */
  readonly rotations = { rename: 0, truncate: 0 };
  readonly #placement: Placement = {
    followed: () => [...this.#files.values()],
    orphans: () => this.#orphans,
    saved: () => this.#saved,
    fromEnd: () => this.#firstScan && !this.#hadState && this.options.readFrom === 'end',
    truncated: (file) => this.#truncated(file),
    cursor: (source, position, fingerprint) => this.#cursor(source, position, fingerprint),
  };

  constructor(readonly options: TailerOptions) {
    this.#globs = options.globs.map(compileGlob);
  }

  get filesFollowed(): number {
    return this.#files.size;
  }

  /** Bytes in followed files not read yet. */
  lagBytes(): number {
    let lag = 0;
    for (const file of this.#files.values()) {
      try {
        lag += Math.max(0, fstatSync(file.handle.fd).size - file.cursor.pipeline.position);
      } catch {
        // Closed in between.
      }
    }
    return lag;
  }

  /** Loads saved positions, finds the files, and starts following them. */
  async start(): Promise<void> {
    const { checkpoints, log } = this.options;
    if (checkpoints) {
      try {
        this.#saved = await checkpoints.load();
        this.#hadState = this.#saved !== undefined;
      } catch (err) {
        log.warn(
          { code: ErrorCode.INPUT, err: describeError(err), file: checkpoints.path },
          'saved positions unreadable: starting without them',
        );
      }
    }
    this.#watch();
    await this.#scan();
    this.#loop = this.#run();
    if (checkpoints) {
      this.#checkpointTimer = setInterval(() => void this.#save(), this.options.checkpointIntervalMs);
      this.#checkpointTimer.unref();
    }
  }

  /**
   * Stops following: reads what the files hold now, writes every complete record (the unfinished last
   * line of a file too when no state is kept, since nothing would read it later), saves positions.
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#checkpointTimer);
    this.#wake.close();
    await this.#loop;
    const sizes = new Map<string, number>();
    for (const [key, file] of this.#files) {
      const info = await file.handle.stat().catch(() => undefined);
      sizes.set(key, info?.size ?? file.size);
    }
    while (await this.#readPass(sizes)) {
      // Until each file is read up to its size at close.
    }
    const writeUnfinished = this.options.checkpoints === undefined;
    for (const file of this.#files.values()) file.cursor.pipeline.end(writeUnfinished);
    await this.options.output.settled();
    await this.#saving;
    await this.#save();
    for (const file of this.#files.values()) await file.handle.close().catch(() => {});
    this.#files.clear();
  }

  #watch(): void {
    for (const glob of this.#globs)
      this.#wake.watchDirectory(glob.base, glob.deep, (path) => this.#paths.has(path));
  }

  async #run(): Promise<void> {
    const { pollIntervalMs, output, log } = this.options;
    let nextPoll = Date.now() + pollIntervalMs;
    while (!this.#closing) {
      try {
        const polled = Date.now() >= nextPoll;
        if (polled) {
          nextPoll = Date.now() + pollIntervalMs;
          this.#watch();
        }
        if (polled || this.#wake.entriesChanged) {
          this.#wake.entriesChanged = false;
          await this.#scan();
        }
        const progressed = await this.#readPass();
        const due = this.#idleWork(Date.now());
        output.flush();
        if (output.failed) return;
        if (progressed) continue;
        await this.#wake.wait(Math.min(nextPoll, due ?? Number.POSITIVE_INFINITY) - Date.now());
      } catch (err) {
        log.error({ code: ErrorCode.INPUT, err: describeError(err) }, 'following files failed; retrying');
        await this.#wake.wait(pollIntervalMs);
      }
    }
  }

  /** One chunk from each file that has more; true when anything was read. */
  async #readPass(limits?: ReadonlyMap<string, number>): Promise<boolean> {
    const { output } = this.options;
    let progressed = false;
    for (const file of [...this.#files.values()]) {
      if (output.congested) await output.drained();
      if (output.failed) return false;
      const limit = limits ? limits.get(file.key) : undefined;
      if (limits && (limit === undefined || file.cursor.pipeline.position >= limit)) continue;
      try {
        if (await this.#readChunk(file)) progressed = true;
      } catch (err) {
        this.options.log.warn(
          { code: ErrorCode.INPUT, path: file.path, err: describeError(err) },
          'cannot read file; it is released',
        );
        await this.#release(file);
      }
    }
    return progressed;
  }

  /** Reads the file's next chunk into its pipeline; true when bytes were read or a truncation handled. */
  async #readChunk(file: Followed): Promise<boolean> {
    const { size } = await file.handle.stat();
    const position = file.cursor.pipeline.position;
    if (size < position || !(await sameContent(file, size))) {
      this.#truncated(file);
      return true;
    }
    file.size = size;
    if (size === position) {
      file.atEnd = true;
      return false;
    }
    const { bytesRead } = await file.handle.read(this.#buffer, 0, readChunkBytes, position);
    if (bytesRead === 0) {
      file.atEnd = true;
      return false;
    }
    // A truncation and new writes between the check above and the read would make these bytes the new
    // content's: checked again before they are used.
    if (!(await sameContent(file, size))) {
      this.#truncated(file);
      return true;
    }
    file.cursor.pipeline.push(this.#buffer, 0, bytesRead);
    file.lastGrowth = Date.now();
    file.atEnd = position + bytesRead >= size;
    return true;
  }

  /** The file's content was replaced under it (copytruncate): its old position waits for the copy. */
  #truncated(file: Followed): void {
    const old = file.cursor;
    old.pipeline.end(true);
    this.#orphans.push({ cursor: old, since: Date.now() });
    file.cursor = this.#cursor(old.source, 0, Buffer.alloc(0));
    file.atEnd = false;
    this.rotations.truncate++;
    this.options.log.info(
      { path: file.path, offset: old.pipeline.position },
      'file truncated: reading it again from the start',
    );
    this.#wake.notify(true);
  }

  #cursor(source: string, position: number, fingerprint: Buffer): Cursor {
    const { settings, output, stats, levelRules } = this.options;
    const cursor: Cursor = {
      source,
      fingerprint,
      committed: position,
      pipeline: undefined as unknown as Pipeline,
    };
    const pipeline = new Pipeline(
      source,
      levelOfFile(source, levelRules),
      settings,
      output,
      stats,
      cursor,
      position,
    );
    return Object.assign(cursor, { pipeline });
  }

  /** Lists what the globs match now: picks up new files, follows renames, notices files gone. */
  async #scan(): Promise<void> {
    const now = Date.now();
    const found = new Map<string, string>();
    const exclude = this.options.checkpoints?.path;
    for (const glob of this.#globs) {
      for (const path of await expandGlob(glob)) {
        if (path === exclude) continue;
        const info = await stat(path, { bigint: true }).catch(() => undefined);
        if (!info?.isFile()) continue;
        const key = `${info.dev}:${info.ino}`;
        if (!found.has(key)) found.set(key, path);
      }
    }
    for (const file of this.#files.values()) {
      const seen = found.get(file.key);
      if (seen) {
        if (seen !== file.path) {
          this.rotations.rename++;
          this.options.log.info({ path: seen, from: file.path }, 'file renamed');
          file.path = seen;
        }
        file.goneSince = undefined;
        found.delete(file.key);
      } else if (file.goneSince === undefined) {
        file.goneSince = now;
        this.options.log.info({ path: file.path }, 'file renamed away or deleted: reading it to its end');
      }
    }
    // Files whose inode a saved position names go first, so that a copy does not take their position.
    const savedKeys = new Set(this.#saved?.map((entry) => entry.key));
    const fresh = [...found].sort(([a], [b]) => Number(savedKeys.has(b)) - Number(savedKeys.has(a)));
    for (const [key, path] of fresh) await this.#adopt(key, path);
    this.#paths = new Set([...this.#files.values()].map((file) => file.path));
    if (this.#saved) this.#saved = undefined;
    this.#firstScan = false;
    const orphanLimit = Math.max(this.options.rotateWaitMs, 10 * this.options.pollIntervalMs, 30_000);
    this.#orphans = this.#orphans.filter((orphan) => now - orphan.since < orphanLimit);
  }

  /** Starts following a file not followed yet, from the right position, or leaves it if it is a copy. */
  async #adopt(key: string, path: string): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch {
      return;
    }
    try {
      const id = await identify(handle);
      if (id.key !== key || this.#files.has(id.key)) {
        await handle.close();
        return;
      }
      const prefix = await readPrefix(handle);
      // An empty file is looked at again once it has content: it may be a copy just begun.
      if (prefix.length === 0 || (await copyOfFollowed(this.#placement, handle, prefix, id.size))) {
        await handle.close();
        return;
      }
      const start = await startFor(this.#placement, path, handle, id, prefix);
      this.#files.set(key, {
        handle,
        key,
        birth: id.birth,
        path,
        cursor: start.cursor,
        size: id.size,
        goneSince: undefined,
        lastGrowth: Date.now(),
        atEnd: false,
      });
      this.options.log.info(
        { path, offset: start.cursor.pipeline.position, from: start.from },
        'following file',
      );
    } catch (err) {
      await handle.close().catch(() => {});
      this.options.log.warn({ code: ErrorCode.INPUT, path, err: describeError(err) }, 'cannot follow file');
    }
  }

  /** Multi-line records due, files gone long enough to release; answers the next deadline. */
  #idleWork(now: number): number | undefined {
    let due: number | undefined;
    const sooner = (at: number | undefined) => {
      if (at !== undefined && (due === undefined || at < due)) due = at;
    };
    for (const file of this.#files.values()) {
      sooner(file.cursor.pipeline.flushIdle(now));
      if (file.goneSince === undefined || !file.atEnd) continue;
      const quietSince = Math.max(file.goneSince, file.lastGrowth);
      if (now - quietSince >= this.options.rotateWaitMs) void this.#release(file);
      else sooner(quietSince + this.options.rotateWaitMs);
    }
    return due;
  }

  async #release(file: Followed): Promise<void> {
    if (this.#files.get(file.key) !== file) return;
    this.#files.delete(file.key);
    file.cursor.pipeline.end(true);
    this.options.log.info({ path: file.path, offset: file.cursor.pipeline.position }, 'file released');
    await file.handle.close().catch(() => {});
  }

  /** Saves the written positions of every file and orphan (when --state-dir is set). */
  #save(): Promise<void> {
    const checkpoints = this.options.checkpoints;
    if (!checkpoints) return Promise.resolve();
    const entries = positionsToSave(this.#files.values(), this.#orphans, this.#saved ?? []);
    this.#saving = this.#saving.then(() =>
      checkpoints.save(entries).then(
        () => {},
        (err: unknown) =>
          this.options.log.warn(
            { code: ErrorCode.PUBLISH, err: describeError(err) },
            'cannot save positions',
          ),
      ),
    );
    return this.#saving;
  }
}
