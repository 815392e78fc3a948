/**
 * The fast path for lines that are already JSON objects: the line's bytes are validated in one pass
 * (the JSON grammar, strictly: a line this accepts is valid JSON) while the positions of its top-level
 * keys and values are noted, then the record is assembled by copying those byte ranges: the time,
 * level and message values first, then the other fields as they were. Nothing is decoded to strings or
 * re-serialised except the time and level values. Anything unusual (an unreadable time or level, a
 * non-string message, a key the adapter writes itself, a key with escapes) is left to the general path
 * (json.ts), which gives the same answer slowly.
 */

import { type Level, levelFromName, levelFromNumber, levelSpellings, levels } from '../levels.js';
import type { Output } from '../output.js';
import type { RecordShape } from '../record.js';
import { isCanonicalUtc, isoFromEpoch, type TimeContext, timeFromValue, writeIsoMs } from '../time.js';
import { levelKeys, messageKeys, timeKeys } from './json.js';

const TIME = 1;
const LEVEL = 2;
const MESSAGE = 3;
/** A key the adapter writes itself: the general path renames the app's. */
const RESERVED = 4;

const maxKeys = 128;
const maxDepth = 64;

const ascii = (text: string) => Buffer.from(text, 'latin1');

export class FastJson {
  /** Special keys by byte length: their bytes and kind. */
  readonly #keys: { bytes: Buffer; kind: number }[][] = [];
  /** Level spellings by byte length: their bytes and level index. */
  readonly #levelNames: { bytes: Buffer; level: number }[][] = [];
  readonly #source: Buffer;
  readonly #extras: Buffer;
  readonly #afterTime: Buffer[];
  readonly #open = ascii('{"time":"');
  readonly #emptyMessage = ascii('""');
  readonly #slots = new Int32Array(maxKeys * 4);
  readonly #stack = new Uint8Array(maxDepth + 1);
  readonly #fixedBytes: number;

  constructor(
    shape: RecordShape,
    readonly ctx: TimeContext,
  ) {
    const add = (name: string, kind: number) => {
      const bytes = Buffer.from(name);
      const list = this.#keys[bytes.length] ?? [];
      this.#keys[bytes.length] = list;
      if (!list.some((key) => key.bytes.equals(bytes))) list.push({ bytes, kind });
    };
    for (const key of timeKeys) add(key, TIME);
    for (const key of levelKeys) add(key, LEVEL);
    for (const key of messageKeys) add(key, MESSAGE);
    for (const key of shape.reserved) add(key, RESERVED);
    for (const [spelling, level] of levelSpellings()) {
      const bytes = Buffer.from(spelling, 'latin1');
      const list = this.#levelNames[bytes.length] ?? [];
      this.#levelNames[bytes.length] = list;
      list.push({ bytes, level: levels.indexOf(level) });
    }
    this.#source = Buffer.from(shape.sourceJson);
    this.#extras = Buffer.from(`${shape.extrasJson}}\n`);
    this.#afterTime = levels.map((level) => ascii(`","level":"${level}","msg":`));
    this.#fixedBytes = this.#open.length + 96 + this.#source.length + this.#extras.length;
  }

  #kindOf(b: Buffer, start: number, end: number): number {
    const candidates = this.#keys[end - start];
    if (candidates === undefined) return 0;
    for (const { bytes, kind } of candidates) {
      let k = 0;
      while (k < bytes.length && b[start + k] === bytes[k]) k++;
      if (k === bytes.length) return kind;
    }
    return 0;
  }

  /**
   * Writes the record for the JSON line in bytes [s, e) (valid UTF-8, no newline), or answers -1 and
   * writes nothing when the general path must take it. Otherwise answers the level's index.
   * `fallbackLevel` is the level when the line has none; `now` the time when it has none.
   */
  write(b: Buffer, s: number, e: number, out: Output, fallbackLevel: Level, now: () => string): number {
    const slots = this.#slots;
    let i = s;
    let c = b[i] as number;
    if (c !== 123) return -1;
    let n = 0;
    let timeAt = -1;
    let levelAt = -1;
    let messageAt = -1;
    c = b[++i] as number;
    while (c === 32 || c === 9) c = b[++i] as number;
    if (c === 125) {
      i++;
    } else {
      for (;;) {
        if (c !== 34 || n >= maxKeys) return -1;
        const keyStart = i;
        let escaped = false;
        for (;;) {
          c = b[++i] as number;
          if (c === 34) break;
          if (c === 92) {
            escaped = true;
            i++;
          } else if (c < 32 || i >= e) return -1;
        }
        if (escaped) return -1;
        const keyEnd = ++i;
        c = b[i] as number;
        while (c === 32 || c === 9) c = b[++i] as number;
        if (c !== 58) return -1;
        c = b[++i] as number;
        while (c === 32 || c === 9) c = b[++i] as number;
        const valueStart = i;
        // Strings and numbers, most values, without a call through the general validator.
        if (c === 34) i = string(b, i, e);
        else if ((c >= 48 && c <= 57) || c === 45) {
          i = number(b, i);
          if (i > e) i = -1;
        } else i = this.#value(b, i, e);
        if (i < 0) return -1;
        const kind = this.#kindOf(b, keyStart + 1, keyEnd - 1);
        if (kind === TIME && timeAt < 0) timeAt = n;
        else if (kind === LEVEL && levelAt < 0) levelAt = n;
        else if (kind === MESSAGE && messageAt < 0 && b[valueStart] === 34) messageAt = n;
        else if (kind !== 0) return -1;
        const slot = n * 4;
        slots[slot] = keyStart;
        slots[slot + 1] = valueStart;
        slots[slot + 2] = i;
        n++;
        c = b[i] as number;
        while (c === 32 || c === 9) c = b[++i] as number;
        if (c === 44) {
          c = b[++i] as number;
          while (c === 32 || c === 9) c = b[++i] as number;
          continue;
        }
        if (c !== 125) return -1;
        i++;
        break;
      }
    }
    while (i < e && (b[i] === 32 || b[i] === 9)) i++;
    if (i !== e) return -1;

    let level = levels.indexOf(fallbackLevel);
    if (levelAt >= 0) {
      level = this.#level(b, slots[levelAt * 4 + 1] as number, slots[levelAt * 4 + 2] as number);
      if (level < 0) return -1;
    }
    let time: string | undefined;
    let timeRawStart = -1;
    let epochMs = -1;
    if (timeAt >= 0) {
      const vs = slots[timeAt * 4 + 1] as number;
      const ve = slots[timeAt * 4 + 2] as number;
      if (b[vs] === 34) {
        if (isCanonicalUtc(b, vs + 1, ve - 1)) timeRawStart = vs + 1;
        else if (this.#plainAscii(b, vs + 1, ve - 1))
          time = timeFromValue(b.toString('latin1', vs + 1, ve - 1), this.ctx);
      } else {
        // Epoch milliseconds (pino's default) are written without a string; other numbers through one.
        const ms = integerAt(b, vs, ve);
        if (ms >= 1e11 && ms < 1e14) epochMs = ms;
        else time = isoFromEpoch(Number(b.toString('latin1', vs, ve)));
      }
      if (time === undefined && timeRawStart < 0 && epochMs < 0) return -1;
    } else {
      time = now();
    }

    out.reserve(e - s + this.#fixedBytes);
    const o = out.buf;
    let p = copy(this.#open, 0, this.#open.length, o, out.pos);
    if (timeRawStart >= 0) p = copy(b, timeRawStart, (slots[timeAt * 4 + 2] as number) - 1, o, p);
    else if (epochMs >= 0) p = writeIsoMs(o, p, epochMs);
    else {
      const iso = time as string;
      for (let k = 0; k < iso.length; k++) o[p++] = iso.charCodeAt(k);
    }
    const afterTime = this.#afterTime[level] as Buffer;
    p = copy(afterTime, 0, afterTime.length, o, p);
    if (messageAt >= 0)
      p = copy(b, slots[messageAt * 4 + 1] as number, slots[messageAt * 4 + 2] as number, o, p);
    else p = copy(this.#emptyMessage, 0, 2, o, p);
    p = copy(this.#source, 0, this.#source.length, o, p);
    // The other fields, in runs of neighbours copied at once.
    let runStart = -1;
    let runEnd = -1;
    for (let k = 0; k < n; k++) {
      if (k === timeAt || k === levelAt || k === messageAt) continue;
      const slot = k * 4;
      if (runStart >= 0 && k > 0 && k - 1 !== timeAt && k - 1 !== levelAt && k - 1 !== messageAt) {
        runEnd = slots[slot + 2] as number;
        continue;
      }
      if (runStart >= 0) {
        o[p++] = 44;
        p = copy(b, runStart, runEnd, o, p);
      }
      runStart = slots[slot] as number;
      runEnd = slots[slot + 2] as number;
    }
    if (runStart >= 0) {
      o[p++] = 44;
      p = copy(b, runStart, runEnd, o, p);
    }
    p = copy(this.#extras, 0, this.#extras.length, o, p);
    out.pos = p;
    return level;
  }

  #plainAscii(b: Buffer, start: number, end: number): boolean {
    for (let k = start; k < end; k++) if ((b[k] as number) >= 128 || b[k] === 92) return false;
    return true;
  }

  /** The level index of a level value, or -1. */
  #level(b: Buffer, vs: number, ve: number): number {
    let level: Level | undefined;
    if (b[vs] === 34) {
      const candidates = this.#levelNames[ve - vs - 2];
      if (candidates !== undefined) {
        for (const { bytes, level: index } of candidates) {
          let k = 0;
          while (k < bytes.length && b[vs + 1 + k] === bytes[k]) k++;
          if (k === bytes.length) return index;
        }
      }
      if (this.#plainAscii(b, vs + 1, ve - 1)) level = levelFromName(b.toString('latin1', vs + 1, ve - 1));
    } else {
      const c = b[vs] as number;
      const integer = integerAt(b, vs, ve);
      if (integer >= 0) level = levelFromNumber(integer);
      else if ((c >= 48 && c <= 57) || c === 45)
        level = levelFromNumber(Number(b.toString('latin1', vs, ve)));
    }
    return level === undefined ? -1 : levels.indexOf(level);
  }

  /** Validates one JSON value starting at `i`; answers the index after it, or -1. */
  #value(b: Buffer, i: number, e: number): number {
    const stack = this.#stack;
    let depth = 0;
    let c: number;
    for (;;) {
      c = b[i] as number;
      while (c === 32 || c === 9) c = b[++i] as number;
      if (c === 34) {
        i = string(b, i, e);
        if (i < 0) return -1;
      } else if (c === 123 || c === 91) {
        if (depth >= maxDepth) return -1;
        stack[depth++] = c;
        c = b[++i] as number;
        while (c === 32 || c === 9) c = b[++i] as number;
        if (c === (stack[depth - 1] === 123 ? 125 : 93)) {
          depth--;
          i++;
        } else {
          if (stack[depth - 1] === 123) {
            i = member(b, i, e);
            if (i < 0) return -1;
          }
          continue;
        }
      } else if (c === 116) {
        if (b[i + 1] !== 114 || b[i + 2] !== 117 || b[i + 3] !== 101) return -1;
        i += 4;
      } else if (c === 102) {
        if (b[i + 1] !== 97 || b[i + 2] !== 108 || b[i + 3] !== 115 || b[i + 4] !== 101) return -1;
        i += 5;
      } else if (c === 110) {
        if (b[i + 1] !== 117 || b[i + 2] !== 108 || b[i + 3] !== 108) return -1;
        i += 4;
      } else {
        i = number(b, i);
        if (i < 0) return -1;
      }
      if (i > e) return -1;
      // After a value: close what is complete, or go on to the next element or member.
      for (;;) {
        if (depth === 0) return i;
        c = b[i] as number;
        while (c === 32 || c === 9) c = b[++i] as number;
        const open = stack[depth - 1];
        if (c === 44) {
          i++;
          if (open === 123) {
            c = b[i] as number;
            while (c === 32 || c === 9) c = b[++i] as number;
            i = member(b, i, e);
            if (i < 0) return -1;
          }
          break;
        }
        if ((open === 123 && c === 125) || (open === 91 && c === 93)) {
          depth--;
          i++;
          continue;
        }
        return -1;
      }
    }
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** A JSON string at `i` (its opening quote); answers the index after its closing quote, or -1. */
function string(b: Buffer, i: number, e: number): number {
  for (;;) {
    const c = b[++i] as number;
    if (c === 34) return i < e ? i + 1 : -1;
    if (c < 32) return -1;
    if (c === 92) {
      const x = b[++i] as number;
      if (x === 117) {
        if (
          !isHex(b[i + 1] as number) ||
          !isHex(b[i + 2] as number) ||
          !isHex(b[i + 3] as number) ||
          !isHex(b[i + 4] as number)
        )
          return -1;
        i += 4;
      } else if (
        x !== 34 &&
        x !== 92 &&
        x !== 47 &&
        x !== 98 &&
        x !== 102 &&
        x !== 110 &&
        x !== 114 &&
        x !== 116
      ) {
        return -1;
      }
    }
    if (i >= e) return -1;
  }
}

/** An object member's key and colon at `i`; answers the index of its value, or -1. */
function member(b: Buffer, i: number, e: number): number {
  if (b[i] !== 34) return -1;
  i = string(b, i, e);
  if (i < 0) return -1;
  let c = b[i] as number;
  while (c === 32 || c === 9) c = b[++i] as number;
  return c === 58 ? i + 1 : -1;
}

/** A JSON number at `i`; answers the index after it, or -1. */
function number(b: Buffer, i: number): number {
  let c = b[i] as number;
  if (c === 45) c = b[++i] as number;
  if (c === 48) c = b[++i] as number;
  else if (c >= 49 && c <= 57) {
    do c = b[++i] as number;
    while (c >= 48 && c <= 57);
  } else return -1;
  if (c === 46) {
    c = b[++i] as number;
    if (c < 48 || c > 57) return -1;
    do c = b[++i] as number;
    while (c >= 48 && c <= 57);
  }
  if (c === 101 || c === 69) {
    c = b[++i] as number;
    if (c === 43 || c === 45) c = b[++i] as number;
    if (c < 48 || c > 57) return -1;
    do c = b[++i] as number;
    while (c >= 48 && c <= 57);
  }
  return i;
}

/** A non-negative integer of at most 15 digits in bytes [start, end), or -1. */
function integerAt(b: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let value = 0;
  for (let k = start; k < end; k++) {
    const digit = (b[k] as number) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Copies bytes [start, end) of `from` to `to` at `at`; answers the index after them. */
function copy(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  // A loop beats a call into C++ for the short runs most lines are made of.
  if (end - start > 256) return at + from.copy(to, at, start, end);
  for (let k = start; k < end; k++) to[at++] = from[k] as number;
  return at;
}
