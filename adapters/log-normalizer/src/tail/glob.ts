/**
 * `--input` globs: `*`, `?` and `[...]` within a path segment, `**` for any number of directories.
 * Expanding one lists the regular files (symlinks followed) that match now; the directory it starts in
 * is what gets watched for new files.
 */

import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { segmentPattern } from '../option-values.js';

const globStar = Symbol('**');
type Segment = string | RegExp | typeof globStar;

export interface Glob {
  readonly text: string;
  /** The longest directory without wildcards: where matches are looked for and changes watched. */
  readonly base: string;
  /** Whether matches may lie in subdirectories of the base (a wildcard or ** in a directory part). */
  readonly deep: boolean;
  readonly segments: readonly Segment[];
}

const wildcard = /[*?[]/;
const maxDepth = 16;

export function compileGlob(text: string): Glob {
  const absolute = resolve(text);
  const parts = absolute.split(sep).slice(1);
  const first = parts.findIndex((part) => wildcard.test(part));
  const literal = first < 0 ? parts.length - 1 : first;
  const base = `${sep}${parts.slice(0, literal).join(sep)}`;
  const segments: Segment[] = parts
    .slice(literal)
    .map((part) => (part === '**' ? globStar : wildcard.test(part) ? segmentPattern(part) : part));
  return { text, base, deep: segments.length > 1, segments };
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** The paths that match now, regular files only. */
export async function expandGlob(glob: Glob): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, index: number, depth: number): Promise<void> => {
    const segment = glob.segments[index];
    if (segment === undefined) {
      const info = await stat(dir).catch(() => undefined);
      if (info?.isFile()) found.push(dir);
      return;
    }
    if (typeof segment === 'string') return walk(join(dir, segment), index + 1, depth);
    if (segment === globStar) {
      await walk(dir, index + 1, depth);
      if (depth >= maxDepth) return;
      for (const entry of await entries(dir)) {
        if (entry.isDirectory() && !entry.name.startsWith('.'))
          await walk(join(dir, entry.name), index, depth + 1);
      }
      return;
    }
    for (const entry of await entries(dir)) {
      if (segment.test(entry.name)) await walk(join(dir, entry.name), index + 1, depth + 1);
    }
  };
  await walk(glob.base, 0, 0);
  return found;
}
