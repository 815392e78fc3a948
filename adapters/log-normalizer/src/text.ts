/**
 * Bytes into text that always makes a valid JSON line: valid UTF-8 is decoded as is; a byte that is not
 * part of valid UTF-8 becomes the four characters `\xNN`, so binary garbage stays visible and no line
 * is ever broken or silently replaced. Control characters are left to JSON's own escapes.
 */

import { isUtf8 } from 'node:buffer';

const hex = '0123456789abcdef';

function escapedByte(byte: number): string {
  return `\\x${hex[byte >> 4]}${hex[byte & 15]}`;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one. */
function sequenceLength(buf: Uint8Array, i: number, end: number): number {
  const b0 = buf[i] as number;
  if (b0 < 0x80) return 1;
  const cont = (k: number) => i + k < end && ((buf[i + k] as number) & 0xc0) === 0x80;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const b1 = buf[i + 1] as number;
    if (!cont(1) || !cont(2)) return 0;
    if (b0 === 0xe0 && b1 < 0xa0) return 0; // overlong
    if (b0 === 0xed && b1 >= 0xa0) return 0; // surrogate
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const b1 = buf[i + 1] as number;
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (b0 === 0xf0 && b1 < 0x90) return 0; // overlong
    if (b0 === 0xf4 && b1 >= 0x90) return 0; // past U+10FFFF
    return 4;
  }
  return 0;
}

/** Text of bytes [start, end), with invalid UTF-8 escaped as `\xNN`. */
export function decodeText(buf: Buffer, start: number, end: number): string {
  if (isUtf8(buf.subarray(start, end))) return buf.toString('utf8', start, end);
  let text = '';
  let run = start;
  let i = start;
  while (i < end) {
    const length = sequenceLength(buf, i, end);
    if (length > 0) {
      i += length;
      continue;
    }
    if (run < i) text += buf.toString('utf8', run, i);
    text += escapedByte(buf[i] as number);
    i++;
    run = i;
  }
  if (run < end) text += buf.toString('utf8', run, end);
  return text;
}

/**
 * Where to cut a line of bytes at most `limit` long so that a multi-byte character is not split
 * (a cut inside one would turn its first bytes into escapes).
 */
export function characterBoundary(buf: Uint8Array, start: number, limit: number): number {
  let cut = start + limit;
  for (let back = 0; back < 3 && cut > start && ((buf[cut] as number) & 0xc0) === 0x80; back++) cut--;
  return cut;
}

/** A string as a JSON string literal: quoted directly when nothing in it needs an escape. */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff) || c === 0x2028 || c === 0x2029)
      return JSON.stringify(s);
  }
  return `"${s}"`;
}
