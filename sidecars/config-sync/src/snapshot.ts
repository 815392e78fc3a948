/**
 * A snapshot is the complete configuration at one moment: relative file path -> bytes. Every source
 * produces whole snapshots (never deltas), so publishing one can never mix two versions. Before a
 * snapshot is published its keys are checked here: a key becomes a path under the shared directory, so
 * one that could escape it, hide behind the kubelet's reserved names, or clash with another is refused.
 */

import { createHash } from 'node:crypto';

export type Files = ReadonlyMap<string, Buffer>;

export interface Refusal {
  key: string;
  reason: string;
  kind: 'unsafe' | 'conflict';
}

export interface Snapshot {
  files: Files;
  /** Keys the source already dropped (e.g. the same key from two ConfigMaps). */
  refused: readonly Refusal[];
}

export function snapshot(files: Files, refused: readonly Refusal[] = []): Snapshot {
  return { files, refused };
}

/** Linux limits: a name up to 255 bytes, a path up to 4096. */
const maxNameBytes = 255;
const maxPathBytes = 4096;

/** Why `key` cannot be a file path inside the target directory, or undefined when it can. */
export function unsafeKeyReason(key: string): string | undefined {
  if (key === '') return 'empty name';
  if (key.includes('\0')) return 'contains a NUL byte';
  if (key.startsWith('/')) return 'absolute path';
  if (Buffer.byteLength(key) > maxPathBytes) return `path longer than ${maxPathBytes} bytes`;
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty path segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return 'path traversal (. or .. segment)';
    // ..data and the version directories live at the top; the kubelet refuses the prefix everywhere.
    if (segment.startsWith('..')) return 'names starting with .. are reserved (..data, versions)';
    if (Buffer.byteLength(segment) > maxNameBytes) return `name longer than ${maxNameBytes} bytes`;
  }
  return undefined;
}

/**
 * The publishable part of a snapshot: unsafe keys dropped, and a key that is also a folder of another
 * (`a` and `a/b`) resolved deterministically: the key that sorts first stays.
 */
export function sanitize(input: Snapshot): { files: Map<string, Buffer>; refused: Refusal[] } {
  const refused: Refusal[] = [...input.refused];
  const files = new Map<string, Buffer>();
  const folders = new Set<string>();
  for (const key of [...input.files.keys()].sort()) {
    const reason = unsafeKeyReason(key);
    if (reason) {
      refused.push({ key, reason, kind: 'unsafe' });
      continue;
    }
    const parents = ancestors(key);
    const clash = files.has(key) ? key : (parents.find((parent) => files.has(parent)) ?? undefined);
    if (clash !== undefined || folders.has(key)) {
      const other = clash ?? `${key}/...`;
      refused.push({
        key,
        reason: `clashes with ${other}: a name cannot be a file and a folder`,
        kind: 'conflict',
      });
      continue;
    }
    files.set(key, input.files.get(key) as Buffer);
    for (const parent of parents) folders.add(parent);
  }
  return { files, refused };
}

/** `a/b/c` -> [`a`, `a/b`]. */
function ancestors(key: string): string[] {
  const segments = key.split('/');
  return segments.slice(1).map((_, index) => segments.slice(0, index + 1).join('/'));
}

/** Content identity of a set of files: same names and bytes, same hash. */
export function contentHash(files: Files): string {
  const hash = createHash('sha256');
  for (const key of [...files.keys()].sort()) {
    const data = files.get(key) as Buffer;
    // Length-prefixed so that no two different sets can serialise to the same bytes.
    hash.update(`${Buffer.byteLength(key)}:${key}:${data.length}:`);
    hash.update(data);
  }
  return hash.digest('hex');
}

/** The top-level names of a set of keys: what gets one symlink each in the target directory. */
export function topLevelNames(keys: Iterable<string>): Set<string> {
  const names = new Set<string>();
  for (const key of keys) names.add(key.split('/')[0] as string);
  return names;
}
