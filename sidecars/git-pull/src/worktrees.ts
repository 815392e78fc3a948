/**
 * Which worktrees live under `<root>/.worktrees`: the published one, the `keep` most recently published
 * before it, and nothing else (leftovers of an interrupted sync included). Only this directory, the
 * repository in `<root>/.git` and the link are ever written; the rest of --root belongs to others.
 */

import { readdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/** Names to delete: every entry that is neither live nor among the `keep` newest previous ones. */
export function worktreesToRemove(
  entries: readonly string[],
  recent: readonly string[],
  keep: number,
): string[] {
  const kept = new Set(recent.slice(0, keep + 1));
  return entries.filter((name) => !kept.has(name));
}

/** Publish order, newest first: `hash` moves to the front (a force-push back to a kept revision). */
export function promote(recent: readonly string[], hash: string): string[] {
  return [hash, ...recent.filter((name) => name !== hash)];
}

export async function listWorktrees(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Entries by modification time, newest first: the publish order a previous run left behind. */
export async function byRecency(dir: string, names: readonly string[]): Promise<string[]> {
  const dated = await Promise.all(
    names.map(async (name) => ({
      name,
      mtime: (await stat(join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0,
    })),
  );
  return dated.sort((a, b) => b.mtime - a.mtime).map(({ name }) => name);
}

/** Marks a worktree as just published, so a restart orders the kept ones correctly. */
export async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => {});
}
