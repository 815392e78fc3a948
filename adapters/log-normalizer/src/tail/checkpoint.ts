/**
 * Read positions that survive a restart: `<state-dir>/offsets.json`, replaced atomically (temp file,
 * fsync, rename), so a crash leaves the previous version or the new one. Each entry names a file by
 * device, inode, birth time and the first bytes of its content (its fingerprint), and holds the offset
 * up to which its records have been written to stdout.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, writeFileAtomic } from '../../../../lib/atomic-fs.js';
import type { Followed, Orphan } from './followed.js';

export interface SavedPosition {
  /** The record's `source`: the path the file was first read under. */
  source: string;
  /** Where it was last seen (absent for a file truncated under the adapter, waiting for its copy). */
  path?: string;
  /** `dev:ino` (decimal) where it was last seen. */
  key?: string;
  /** Birth time in ns (decimal), when the file system reports one. */
  birth?: string;
  /** The first bytes of the content, base64. */
  fingerprint: string;
  offset: number;
}

interface StateFile {
  version: 1;
  files: SavedPosition[];
}

export class Checkpoints {
  readonly path: string;
  #last = '';

  private constructor(dir: string) {
    this.path = join(dir, 'offsets.json');
  }

  static async open(dir: string): Promise<Checkpoints> {
    await ensureDir(dir);
    return new Checkpoints(dir);
  }

  /** The saved positions; undefined when none were ever saved. Throws on a file that is not ours. */
  async load(): Promise<SavedPosition[] | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const state = JSON.parse(text) as StateFile;
    if (state?.version !== 1 || !Array.isArray(state.files))
      throw new Error(`${this.path} is not a podkit state file`);
    this.#last = text;
    return state.files.filter(
      (entry) =>
        typeof entry.fingerprint === 'string' && Number.isSafeInteger(entry.offset) && entry.offset >= 0,
    );
  }

  /** Saves the positions; answers false without writing when nothing changed since the last save. */
  async save(files: readonly SavedPosition[]): Promise<boolean> {
    const text = `${JSON.stringify({ version: 1, files: [...files] } satisfies StateFile)}\n`;
    if (text === this.#last) return false;
    await writeFileAtomic(this.path, text);
    this.#last = text;
    return true;
  }
}

/**
 * What to save: the written position of each followed file and of each orphan (truncated content whose
 * copy may turn up after a restart), and the positions not yet matched to a file. A position at 0 needs
 * no saving: an unknown file is read from its start anyway.
 */
export function positionsToSave(
  files: Iterable<Followed>,
  orphans: readonly Orphan[],
  unmatched: readonly SavedPosition[],
): SavedPosition[] {
  const entries: SavedPosition[] = [];
  for (const file of files) {
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
  for (const { cursor } of orphans) {
    if (cursor.committed === 0 || cursor.fingerprint.length === 0) continue;
    entries.push({
      source: cursor.source,
      fingerprint: cursor.fingerprint.toString('base64'),
      offset: cursor.committed,
    });
  }
  return [...entries, ...unmatched];
}
