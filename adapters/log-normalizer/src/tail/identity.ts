/**
 * Telling files apart when names lie: rotation renames a file, copytruncate empties it in place, and a
 * file deleted and made again may get the same inode. A file is known by device and inode (and birth
 * time where the file system has one) and by a fingerprint, its first bytes (Vector's checksum idea):
 * content whose first bytes differ is other content, whatever the inode says.
 */

import type { FileHandle } from 'node:fs/promises';

/** How many leading bytes make a file's fingerprint. */
export const fingerprintBytes = 1024;

export interface FileIdentity {
  /** `dev:ino` */
  key: string;
  /** Birth time in ns, '' when the file system does not report one. */
  birth: string;
  size: number;
}

export async function identify(handle: FileHandle): Promise<FileIdentity> {
  const info = await handle.stat({ bigint: true });
  return {
    key: `${info.dev}:${info.ino}`,
    birth: info.birthtimeNs > 0n ? String(info.birthtimeNs) : '',
    size: Number(info.size),
  };
}

/** The file's first bytes, up to `length` (fewer when the file is shorter). */
export async function readPrefix(handle: FileHandle, length = fingerprintBytes): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, got, length - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Whether `content` begins with the non-empty fingerprint `fingerprint`. */
export function startsWith(content: Buffer, fingerprint: Buffer): boolean {
  return (
    fingerprint.length > 0 &&
    content.length >= fingerprint.length &&
    content.compare(fingerprint, 0, fingerprint.length, 0, fingerprint.length) === 0
  );
}

/** Whether the first `length` bytes of two files are equal (compared in pieces, up to 64 KiB). */
export async function samePrefix(a: FileHandle, b: FileHandle, length: number): Promise<boolean> {
  const piece = 16 * 1024;
  const left = Buffer.alloc(piece);
  const right = Buffer.alloc(piece);
  const limit = Math.min(length, 64 * 1024);
  for (let at = 0; at < limit; at += piece) {
    const want = Math.min(piece, limit - at);
    const [x, y] = await Promise.all([a.read(left, 0, want, at), b.read(right, 0, want, at)]);
    if (x.bytesRead !== y.bytesRead) return false;
    if (left.compare(right, 0, x.bytesRead, 0, x.bytesRead) !== 0) return false;
    if (x.bytesRead < want) return true;
  }
  return true;
}

/**
 * Where reading should start in a file to follow from its end: just past its last complete line, so
 * the first record is not the tail of a line written before.
 */
export async function endOfLastLine(handle: FileHandle, size: number): Promise<number> {
  const window = Math.min(size, 64 * 1024);
  if (window === 0) return 0;
  const buf = Buffer.alloc(window);
  const { bytesRead } = await handle.read(buf, 0, window, size - window);
  const newline = buf.subarray(0, bytesRead).lastIndexOf(10);
  return newline < 0 ? size : size - window + newline + 1;
}
