/**
 * Publishing into volumes that another container reads: nothing partial is ever visible. Files are
 * written to a temporary name in the same directory and renamed over the target (rename is atomic
 * within a filesystem); directories are published by pointing a symlink at a new version and
 * renaming the symlink into place (git-sync's publishSymlink, the kubelet's `..data`).
 */

import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import writeFileAtomicLib from 'write-file-atomic';
import { ErrorCode, PodkitError } from './errors.js';

/**
 * `mkdir -p` that cannot spin: Node 20's recursive mkdir loops forever where mkdir(2) answers ENOENT
 * although the parent exists (e.g. under /proc), which would hang a component given such a path.
 * This walks up once and fails with the real error instead.
 */
export async function ensureDir(path: string): Promise<void> {
  try {
    await mkdir(path);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await lstat(path).catch(() => undefined))?.isDirectory() || (await isDirectoryLink(path))) return;
      throw err;
    }
    if (code !== 'ENOENT') throw err;
  }
  const parent = dirname(path);
  if (parent === path) throw new Error(`cannot create ${path}: no such file or directory`);
  await ensureDir(parent);
  await mkdir(path).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST' || !(await lstat(path)).isDirectory()) throw err;
  });
}

async function isDirectoryLink(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Writes `data` to `path` via temp file + fsync + rename (write-file-atomic, npm's own). */
export async function writeFileAtomic(
  path: string,
  data: string | Buffer,
  options: { mode?: number } = {},
): Promise<void> {
  try {
    await writeFileAtomicLib(path, data, {
      fsync: true,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
    });
  } catch (err) {
    throw new PodkitError(ErrorCode.PUBLISH, `cannot write ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Points `linkPath` at `target` atomically: readers see the old target or the new one, never none.
 * `target` is stored relative to the link's directory so the volume can be mounted anywhere.
 */
export async function swapSymlink(linkPath: string, target: string): Promise<void> {
  const dir = dirname(linkPath);
  const relativeTarget = target.startsWith('/') ? relative(dir, target) : target;
  const temporary = join(dir, `.${basename(linkPath)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await symlink(relativeTarget, temporary);
    await rename(temporary, linkPath);
  } catch (err) {
    await rm(temporary, { force: true });
    throw new PodkitError(
      ErrorCode.PUBLISH,
      `cannot point ${linkPath} at ${relativeTarget}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** The current target of a symlink (as stored), or undefined when it does not exist. */
export async function currentLink(linkPath: string): Promise<string | undefined> {
  try {
    return await readlink(linkPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface VersionedDirOptions {
  /** Directory holding the versions and the link. */
  root: string;
  /** Name of the symlink readers follow, e.g. `..data` (kubelet) or `current` (git-sync's --link). */
  link: string;
  /** Prefix of version directory names, so cleanup touches only what this publisher created. */
  prefix: string;
  /** How many previous versions to keep besides the live one. */
  keep: number;
  /** The version directory's mode, exactly (not cut by the umask), before anything is written in it. */
  dirMode?: number;
}

/**
 * Publishes a new version directory: `fill(dir)` writes into a fresh hidden directory, then the link is
 * swapped to it, then versions beyond `keep` (oldest first) are removed. Returns the version's name.
 */
export async function publishVersionedDir(
  options: VersionedDirOptions,
  version: string,
  fill: (dir: string) => Promise<void>,
): Promise<string> {
  const name = `${options.prefix}${version}`;
  const dir = join(options.root, name);
  await ensureDir(options.root);
  await rm(dir, { recursive: true, force: true });
  try {
    await makeDir(dir, options.dirMode);
    await fill(dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  await swapSymlink(join(options.root, options.link), name);
  await pruneVersions(options, name);
  return name;
}

/** Removes old versions created by this publisher, keeping the live one and the newest `keep` others. */
export async function pruneVersions(options: VersionedDirOptions, live: string): Promise<string[]> {
  const entries = await readdir(options.root);
  const versions: { name: string; mtime: number }[] = [];
  for (const entry of entries) {
    if (!entry.startsWith(options.prefix) || entry === live || entry.includes('.tmp-')) continue;
    const stats = await lstat(join(options.root, entry));
    if (stats.isDirectory()) versions.push({ name: entry, mtime: stats.mtimeMs });
  }
  versions.sort((a, b) => b.mtime - a.mtime);
  const doomed = versions.slice(options.keep);
  for (const { name } of doomed) await rm(join(options.root, name), { recursive: true, force: true });
  return doomed.map(({ name }) => name);
}

/** A new directory with exactly `mode` (mkdir's mode is cut by the umask; chmod is not). */
async function makeDir(path: string, mode?: number): Promise<void> {
  await mkdir(path, mode === undefined ? {} : { mode });
  if (mode !== undefined) await chmod(path, mode);
}

export interface FileModes {
  /** Each file's exact mode, set before its content is written. */
  file?: number;
  /** Each subdirectory's exact mode, set before anything is written in it. */
  dir?: number;
}

/**
 * Writes files (name -> content) into a new directory, creating subdirectories as needed. With modes,
 * each file and subdirectory has its final mode before any content is in it: a reader never finds a
 * file more open than asked, even for an instant (a chmod after the write would leave that window).
 */
export async function writeFiles(
  dir: string,
  files: Iterable<[string, string | Buffer]>,
  modes: FileModes | number = {},
): Promise<void> {
  const { file: fileMode, dir: dirMode } = typeof modes === 'number' ? { file: modes } : modes;
  const made = new Set<string>();
  for (const [name, content] of files) {
    const path = join(dir, name);
    await makeParents(dir, dirname(path), dirMode, made);
    const handle = await open(path, 'w', fileMode ?? 0o666);
    try {
      if (fileMode !== undefined) await handle.chmod(fileMode);
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
  }
}

/** The directories between `root` (which exists) and `path`, each made with `mode`. */
async function makeParents(root: string, path: string, mode: number | undefined, made: Set<string>) {
  if (path === root || made.has(path) || !path.startsWith(`${root}/`)) return;
  await makeParents(root, dirname(path), mode, made);
  try {
    await makeDir(path, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  made.add(path);
}
