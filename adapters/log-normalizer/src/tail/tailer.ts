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
import type { Committable, Output } from '../output.js';
import { Pipeline, type PipelineSettings } from '../pipeline.js';
import type { Stats } from '../stats.js';
import type { Checkpoints, SavedPosition } from './checkpoint.js';
import { compileGlob, expandGlob, type Glob } from './glob.js';
import { endOfLastLine, fingerprintBytes, identify, readPrefix, samePrefix, startsWith } from './identity.js';
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

/** One content's read position: moves to the copy when its file is truncated under it. */
interface Cursor extends Committable {
  readonly source: string;
  fingerprint: Buffer;
  readonly pipeline: Pipeline;
}

interface Followed {
  readonly handle: FileHandle;
  readonly key: string;
  readonly birth: string;
  path: string;
  cursor: Cursor;
  size: number;
  /** When it was first missing from every glob (renamed away or deleted). */
  goneSince: number | undefined;
  lastGrowth: number;
  atEnd: boolean;
}

interface Orphan {
  readonly cursor: Cursor;
  readonly since: number;
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
    const keepPartial = this.options.checkpoints === undefined;
    for (const file of this.#files.values()) file.cursor.pipeline.end(keepPartial);
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
    if (size < position || !(await this.#sameContent(file, size))) {
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
    if (!(await this.#sameContent(file, size))) {
      this.#truncated(file);
      return true;
    }
    file.cursor.pipeline.push(this.#buffer, 0, bytesRead);
    file.lastGrowth = Date.now();
    file.atEnd = position + bytesRead >= size;
    return true;
  }

  /** Whether the file still starts with its fingerprint; extends the fingerprint as the file grows. */
  async #sameContent(file: Followed, size: number): Promise<boolean> {
    const cursor = file.cursor;
    const want = Math.min(fingerprintBytes, size);
    if (cursor.fingerprint.length >= want) {
      if (cursor.fingerprint.length === 0) return true;
      const prefix = await readPrefix(file.handle, cursor.fingerprint.length);
      return prefix.equals(cursor.fingerprint);
    }
    const prefix = await readPrefix(file.handle, want);
    if (cursor.fingerprint.length > 0 && !startsWith(prefix, cursor.fingerprint)) return false;
    cursor.fingerprint = prefix;
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
    const found = new Map<string, { path: string; birth: string }>();
    const exclude = this.options.checkpoints?.path;
    for (const glob of this.#globs) {
      for (const path of await expandGlob(glob)) {
        if (path === exclude) continue;
        const info = await stat(path, { bigint: true }).catch(() => undefined);
        if (!info?.isFile()) continue;
        const key = `${info.dev}:${info.ino}`;
        if (!found.has(key))
          found.set(key, { path, birth: info.birthtimeNs > 0n ? String(info.birthtimeNs) : '' });
      }
    }
    for (const file of this.#files.values()) {
      const seen = found.get(file.key);
      if (seen) {
        if (seen.path !== file.path) {
          this.rotations.rename++;
          this.options.log.info({ path: seen.path, from: file.path }, 'file renamed');
          file.path = seen.path;
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
    for (const [key, seen] of fresh) await this.#adopt(key, seen.path);
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
      if (prefix.length === 0 || (await this.#copyOfFollowed(handle, prefix, id.size))) {
        await handle.close();
        return;
      }
      const start = await this.#startFor(path, handle, id, prefix);
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

  /**
   * Whether a new file is a copy of a file followed now (copytruncate's copy, made before the
   * truncation, or being made): then it is not read, or every line would be twice. A followed file with
   * the same first bytes that has been truncated meanwhile is handled as such first, so that its copy
   * takes its position.
   */
  async #copyOfFollowed(handle: FileHandle, prefix: Buffer, size: number): Promise<boolean> {
    // Shorter than a followed (or orphaned) content's fingerprint and the same so far: maybe a copy
    // still being written. Looked at again when it changes; a new file soon differs.
    const cursors = [
      ...[...this.#files.values()].map((file) => file.cursor),
      ...this.#orphans.map((o) => o.cursor),
    ];
    if (
      cursors.some(({ fingerprint }) => prefix.length < fingerprint.length && startsWith(fingerprint, prefix))
    )
      return true;
    for (const file of [...this.#files.values()]) {
      if (!startsWith(prefix, file.cursor.fingerprint)) continue;
      if (size <= (await file.handle.stat()).size && (await samePrefix(handle, file.handle, size)))
        return true;
      // Not the same content (any more): the followed file may have been truncated during the comparison,
      // which is looked at after it, so that the copy is not taken for a new file.
      const { size: now } = await file.handle.stat();
      if (now < file.cursor.pipeline.position || !(await this.#sameContent(file, now))) this.#truncated(file);
    }
    return false;
  }

  async #startFor(
    path: string,
    handle: FileHandle,
    id: { key: string; birth: string; size: number },
    prefix: Buffer,
  ): Promise<{ cursor: Cursor; from: string }> {
    const orphanAt = this.#orphans.findIndex((orphan) => startsWith(prefix, orphan.cursor.fingerprint));
    if (orphanAt >= 0) {
      const [orphan] = this.#orphans.splice(orphanAt, 1) as [Orphan];
      if (orphan.cursor.pipeline.position <= id.size)
        return { cursor: orphan.cursor, from: 'copy of a truncated file' };
      return {
        cursor: this.#cursor(orphan.cursor.source, id.size, prefix),
        from: 'copy of a truncated file',
      };
    }
    const saved = this.#saved;
    if (saved) {
      const matches = saved.filter(
        (entry) =>
          startsWith(prefix, Buffer.from(entry.fingerprint, 'base64')) &&
          !(entry.key === id.key && entry.birth && id.birth && entry.birth !== id.birth),
      );
      const entry = matches.find((candidate) => candidate.key === id.key) ?? matches[0];
      if (entry) {
        saved.splice(saved.indexOf(entry), 1);
        const offset = entry.offset <= id.size ? entry.offset : 0;
        return { cursor: this.#cursor(entry.source, offset, prefix), from: 'saved position' };
      }
    }
    if (this.#firstScan && !this.#hadState && this.options.readFrom === 'end') {
      return { cursor: this.#cursor(path, await endOfLastLine(handle, id.size), prefix), from: 'end' };
    }
    return { cursor: this.#cursor(path, 0, prefix), from: 'beginning' };
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
    const entries: SavedPosition[] = [];
    for (const file of this.#files.values()) {
      const { cursor } = file;
      if (cursor.committed === 0 || cursor.fingerprint.length === 0) continue;
      entries.push({
        source: cursor.source,
        path: file.path,
        key: file.key,
        ...(file.birth ? { birth: file.birth } : {}),
        fingerprint: cursor.fingerprint.toString('base64'),
        offset: cursor.committed,
      });
    }
    for (const { cursor } of this.#orphans) {
      if (cursor.committed === 0 || cursor.fingerprint.length === 0) continue;
      entries.push({
        source: cursor.source,
        fingerprint: cursor.fingerprint.toString('base64'),
        offset: cursor.committed,
      });
    }
    if (this.#saved) entries.push(...this.#saved);
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
