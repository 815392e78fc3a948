/**
 * A followed file and the content it is read for: the cursor is that content's position, which moves
 * to the copy when copytruncate empties the file under it (the file then gets a new cursor).
 */

import type { FileHandle } from 'node:fs/promises';
import type { Committable } from '../output.js';
import type { Pipeline } from '../pipeline.js';
import { fingerprintBytes, readPrefix, startsWith } from './identity.js';

/** One content's read position. */
export interface Cursor extends Committable {
  readonly source: string;
  fingerprint: Buffer;
  readonly pipeline: Pipeline;
}

export interface Followed {
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

/** The position in content whose file was truncated, until its copy turns up. */
export interface Orphan {
  readonly cursor: Cursor;
  readonly since: number;
}

/** Whether the file still starts with its fingerprint; extends the fingerprint as the file grows. */
export async function sameContent(file: Followed, size: number): Promise<boolean> {
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

/** Whether a followed file's content was replaced under it: it shrank, or its first bytes changed. */
export async function wasTruncated(file: Followed): Promise<boolean> {
  const { size } = await file.handle.stat();
  return size < file.cursor.pipeline.position || !(await sameContent(file, size));
}
