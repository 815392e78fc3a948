/**
 * The target directory in the kubelet's ConfigMap-volume layout, so an app written for a mounted
 * ConfigMap needs no change:
 *
 *   <target>/..v7-20260501T120000123Z-3/app.conf   a version directory, written whole before it is used
 *   <target>/..data -> ..v7-...                     swapped atomically (rename) to publish a version
 *   <target>/app.conf -> ..data/app.conf            one link per top-level name, resolved through ..data
 *
 * A reader opening <target>/app.conf gets the old version or the new one, never a mix or a partial file.
 * Links for new names are made before the swap (they dangle, like a missing file, until it), links for
 * names that went away are removed after it: at the instant of the swap the whole new set appears.
 */

import { lstat, readdir, readFile, readlink, realpath, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { currentLink, publishVersionedDir, swapSymlink, writeFiles } from '../../../lib/atomic-fs.js';
import { ErrorCode, PodkitError } from '../../../lib/errors.js';
import { type Files, topLevelNames } from './snapshot.js';

const dataLink = '..data';
const versionPrefix = '..v';

export interface LiveVersion {
  /** The version directory's name. */
  name: string;
  generation: number;
  files: Map<string, Buffer>;
}

export class KubeletLayout {
  #publishes = 0;

  constructor(
    readonly root: string,
    readonly keepVersions: number,
    readonly fileMode: number,
  ) {}

  /** What `..data` shows now (from a previous run or an init container), or undefined. */
  async current(): Promise<LiveVersion | undefined> {
    const name = await currentLink(join(this.root, dataLink));
    if (name === undefined) return undefined;
    const files = await readTree(resolve(this.root, name));
    const generation = Number(/^\.\.v(\d+)-/.exec(name)?.[1] ?? 0);
    return { name, generation, files };
  }

  /**
   * Writes `files` into a new version directory, lets `check` inspect it (throwing publishes nothing),
   * then swaps it live. Returns the version directory's name.
   */
  async publish(files: Files, generation: number, check?: (dir: string) => Promise<void>): Promise<string> {
    const names = topLevelNames(files.keys());
    this.#publishes += 1;
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    const dirMode = directoryMode(this.fileMode);
    const name = await publishVersionedDir(
      { root: this.root, link: dataLink, prefix: versionPrefix, keep: this.keepVersions, dirMode },
      `${generation}-${stamp}-${this.#publishes}`,
      async (dir) => {
        // Exactly the modes asked for (not cut by the umask), in place before any byte is written.
        await writeFiles(dir, files.entries(), { file: this.fileMode, dir: dirMode });
        await check?.(dir);
        await this.#linkNames(names);
      },
    );
    await this.#unlinkOthers(names);
    return name;
  }

  /** `<name> -> ..data/<name>` for each name; refuses to replace anything this sidecar did not make. */
  async #linkNames(names: Set<string>): Promise<void> {
    for (const name of names) {
      const path = join(this.root, name);
      const want = `${dataLink}/${name}`;
      const existing = await lstat(path).catch(() => undefined);
      if (existing) {
        const target = existing.isSymbolicLink() ? await readlink(path) : undefined;
        if (target === want) continue;
        if (target === undefined || !target.startsWith(`${dataLink}/`)) {
          throw new PodkitError(
            ErrorCode.PUBLISH,
            `${path} exists and was not made by config-sync: remove it, or give config-sync a directory of its own`,
          );
        }
      }
      await swapSymlink(path, want);
    }
  }

  /** Removes our links for names the live version no longer has. */
  async #unlinkOthers(names: Set<string>): Promise<void> {
    for (const entry of await readdir(this.root)) {
      if (names.has(entry) || entry.startsWith('..')) continue;
      const path = join(this.root, entry);
      const stats = await lstat(path).catch(() => undefined);
      if (!stats?.isSymbolicLink()) continue;
      if ((await readlink(path)).startsWith(`${dataLink}/`)) await unlink(path).catch(() => {});
    }
  }
}

/**
 * The mode of the version directory and its folders: searchable by whoever may read the files (0644 ->
 * 0755, 0640 -> 0750, 0600 -> 0700), never writable by more than the owner and those the file mode lets.
 */
export function directoryMode(fileMode: number): number {
  return fileMode | ((fileMode & 0o444) >> 2);
}

export interface ReadTreeOptions {
  skip?: (name: string) => boolean;
  /**
   * The real path links must resolve inside (the source directory): a link out of it (`leak ->
   * /etc/passwd`) fails the whole read rather than publish what it points at.
   */
  within?: string;
}

/** A link in the source directory that resolves outside it. */
export class LinkOutsideError extends PodkitError {
  constructor(readonly key: string) {
    super(
      ErrorCode.SOURCE_LINK,
      `${key} is a symlink that resolves outside the source directory: refused, the update is not published`,
    );
    this.name = 'LinkOutsideError';
  }
}

/** Every regular file under `dir` (following links), keyed by its path relative to `dir`. */
export async function readTree(
  dir: string,
  options: ReadTreeOptions = {},
  prefix = '',
): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of (await readdir(dir)).sort()) {
    if (options.skip?.(entry)) continue;
    const path = join(dir, entry);
    const key = prefix ? `${prefix}/${entry}` : entry;
    if (options.within !== undefined && !(await resolvesWithin(path, options.within))) {
      throw new LinkOutsideError(key);
    }
    const stats = await stat(path).catch((err: NodeJS.ErrnoException) => {
      // A link to nothing (a key being removed right now) is no file; anything else is a real error.
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!stats) continue;
    if (stats.isDirectory()) {
      for (const [child, data] of await readTree(path, options, key)) files.set(child, data);
    } else if (stats.isFile()) {
      files.set(key, await readFile(path));
    }
  }
  return files;
}

/** Whether `path` (a link or not) ends up inside `root` (a real path); a dangling link does not count. */
async function resolvesWithin(path: string, root: string): Promise<boolean> {
  if (!(await lstat(path)).isSymbolicLink()) return true;
  const target = await realpath(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ELOOP') return undefined;
    throw err;
  });
  return target === undefined || target === root || target.startsWith(`${root}/`);
}
