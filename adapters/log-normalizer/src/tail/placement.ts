/**
 * Where a file found for the first time is read from: nowhere yet if it is a copy of content being read
 * (copytruncate's copy before the truncation, or one still being written), the position of the content
 * it copies (after the truncation), a saved position (after a restart), else its beginning, or its end
 * with --read-from end on the first start.
 */

import type { FileHandle } from 'node:fs/promises';
import type { SavedPosition } from './checkpoint.js';
import type { Cursor, Followed, Orphan } from './followed.js';
import { wasTruncated } from './followed.js';
import { endOfLastLine, type FileIdentity, samePrefix, startsWith } from './identity.js';

export interface Placement {
  followed(): Followed[];
  orphans(): Orphan[];
  /** Positions saved by the last run, until the first look at the files is over. */
  saved(): SavedPosition[] | undefined;
  /** Whether a file with no position starts at its end (--read-from end, first start). */
  fromEnd(): boolean;
  truncated(file: Followed): void;
  cursor(source: string, position: number, fingerprint: Buffer): Cursor;
}

/**
 * Whether a new file is a copy of a file followed now: then it is not read, or every line would be
 * twice. A followed file with the same first bytes that has been truncated meanwhile is handled as
 * such first, so that its copy takes its position.
 */
export async function copyOfFollowed(
  placement: Placement,
  handle: FileHandle,
  prefix: Buffer,
  size: number,
): Promise<boolean> {
  // Shorter than a followed (or orphaned) content's fingerprint and the same so far: maybe a copy still
  // being written. Looked at again when it changes; a new file soon differs.
  const cursors = [
    ...placement.followed().map((file) => file.cursor),
    ...placement.orphans().map((o) => o.cursor),
  ];
  if (
    cursors.some(({ fingerprint }) => prefix.length < fingerprint.length && startsWith(fingerprint, prefix))
  )
    return true;
  for (const file of placement.followed()) {
    if (!startsWith(prefix, file.cursor.fingerprint)) continue;
    if (size <= (await file.handle.stat()).size && (await samePrefix(handle, file.handle, size))) return true;
    // Not the same content (any more): the followed file may have been truncated during the comparison,
    // which is looked at after it, so that the copy is not taken for a new file.
    if (await wasTruncated(file)) placement.truncated(file);
  }
  return false;
}

export async function startFor(
  placement: Placement,
  path: string,
  handle: FileHandle,
  id: FileIdentity,
  prefix: Buffer,
): Promise<{ cursor: Cursor; from: string }> {
  const orphans = placement.orphans();
  const saved = placement.saved();
  const orphanAt = orphans.findIndex((orphan) => startsWith(prefix, orphan.cursor.fingerprint));
  if (orphanAt >= 0) {
    const [orphan] = orphans.splice(orphanAt, 1) as [Orphan];
    // A copy shorter than what was read of the original holds nothing new.
    const cursor =
      orphan.cursor.pipeline.position <= id.size
        ? orphan.cursor
        : placement.cursor(orphan.cursor.source, id.size, prefix);
    return { cursor, from: 'copy of a truncated file' };
  }
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
      return { cursor: placement.cursor(entry.source, offset, prefix), from: 'saved position' };
    }
  }
  if (placement.fromEnd())
    return { cursor: placement.cursor(path, await endOfLastLine(handle, id.size), prefix), from: 'end' };
  return { cursor: placement.cursor(path, 0, prefix), from: 'beginning' };
}
