/**
 * The output record: `time`, `level`, `msg`, `source`, then the fields the line was parsed into, then
 * the static `--add-field`s, as one JSON line. A parsed field whose name the adapter uses itself is kept
 * as `<name>_original`, so nothing the app wrote is overwritten or lost.
 */

import { type Level, levels } from './levels.js';
import type { Output } from './output.js';
import { jsonString } from './text.js';

/** Which parser read a record: a metrics label. */
export const formatNames = [
  'json',
  'logfmt',
  'clf',
  'combined',
  'syslog',
  'glog',
  'log4j',
  'python',
  'go',
  'java',
  'regex',
  'text',
] as const;
export type FormatName = (typeof formatNames)[number];

export interface ParsedLine {
  format: FormatName;
  /** UTC ISO 8601, when the line carried a time that could be read. */
  time?: string;
  level?: Level;
  msg: string;
  fields?: Record<string, unknown>;
}

/** What every record of one input shares. */
export interface RecordShape {
  /** `,"source":"..."` */
  readonly sourceJson: string;
  /** `,"k":"v"...` for the static fields, or ''. */
  readonly extrasJson: string;
  /** `,"source":"..."` as bytes. */
  readonly sourceBytes: Buffer;
  /** The static fields, `}` and the newline, as bytes. */
  readonly endBytes: Buffer;
  /** Names the adapter writes itself (time, level, msg, source and the static fields). */
  readonly reserved: ReadonlySet<string>;
  /** `,"name":` as bytes for field names seen, renamed when reserved: names repeat line after line. */
  readonly keys: Map<string, Buffer>;
}

export const adapterKeys = ['time', 'level', 'msg', 'source'] as const;

export function recordShape(source: string, extras: readonly (readonly [string, string])[]): RecordShape {
  const sourceJson = `,"source":${jsonString(source)}`;
  const extrasJson = extras.map(([key, value]) => `,${jsonString(key)}:${jsonString(value)}`).join('');
  return {
    sourceJson,
    extrasJson,
    sourceBytes: Buffer.from(sourceJson),
    endBytes: Buffer.from(`${extrasJson}}\n`),
    reserved: new Set([...adapterKeys, ...extras.map(([key]) => key)]),
    keys: new Map(),
  };
}

const keyCacheLimit = 1024;

function keyBytes(shape: RecordShape, key: string): Buffer {
  let bytes = shape.keys.get(key);
  if (bytes === undefined) {
    bytes = Buffer.from(`,${jsonString(shape.reserved.has(key) ? `${key}_original` : key)}:`);
    if (shape.keys.size >= keyCacheLimit) shape.keys.clear();
    shape.keys.set(key, bytes);
  }
  return bytes;
}

const ascii = (text: string) => Buffer.from(text, 'latin1');
const open = ascii('{"time":"');
const afterTime = levels.map((level) => ascii(`","level":"${level}","msg":`));

/**
 * Writes one record as a JSON line, newline included, straight into the output's batch: ASCII text
 * that needs no escape (most of any log) is copied character by character, anything else goes through
 * JSON.stringify.
 */
export function writeRecord(
  out: Output,
  time: string,
  level: Level,
  msg: string,
  fields: Record<string, unknown> | undefined,
  shape: RecordShape,
): void {
  out.beginRecord();
  bytes(out, open);
  text(out, time);
  bytes(out, afterTime[levels.indexOf(level)] as Buffer);
  string(out, msg);
  bytes(out, shape.sourceBytes);
  if (fields) {
    for (const key in fields) {
      const value = fields[key];
      if (value === undefined) continue;
      bytes(out, keyBytes(shape, key));
      if (typeof value === 'string') string(out, value);
      else if (typeof value === 'number') {
        if (Number.isFinite(value)) text(out, String(value));
        else string(out, String(value));
      } else if (typeof value === 'boolean' || value === null) text(out, String(value));
      else out.writeString(JSON.stringify(value));
    }
  }
  bytes(out, shape.endBytes);
}

function bytes(out: Output, from: Buffer): void {
  out.reserve(from.length);
  if (from.length > 64) {
    out.pos += from.copy(out.buf, out.pos);
    return;
  }
  const o = out.buf;
  let p = out.pos;
  for (let i = 0; i < from.length; i++) o[p++] = from[i] as number;
  out.pos = p;
}

/** ASCII text known to need no escape (numbers, times). */
function text(out: Output, value: string): void {
  out.reserve(value.length);
  const o = out.buf;
  let p = out.pos;
  for (let i = 0; i < value.length; i++) o[p++] = value.charCodeAt(i);
  out.pos = p;
}

/** Printable ASCII other than `"` and `\`: text that is its own JSON string content. */
const notPlain = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/** A JSON string literal. */
function string(out: Output, value: string): void {
  if (value.length >= 24) {
    // One scan in the regular expression engine and one copy beat a loop for longer text.
    if (notPlain.test(value)) {
      out.writeString(JSON.stringify(value));
      return;
    }
    out.reserve(value.length + 2);
    out.buf[out.pos++] = 34;
    out.pos += out.buf.write(value, out.pos, 'latin1');
    out.buf[out.pos++] = 34;
    return;
  }
  out.reserve(value.length + 2);
  const o = out.buf;
  let p = out.pos;
  o[p++] = 34;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 32 || c > 126 || c === 34 || c === 92) {
      out.writeString(JSON.stringify(value));
      return;
    }
    o[p++] = c;
  }
  o[p++] = 34;
  out.pos = p;
}
