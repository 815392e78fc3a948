/**
 * Timestamps as apps write them, into UTC ISO 8601 (`2024-05-01T10:00:00.123Z`, finer fractions kept).
 * Each reader takes text at a position and answers the instant and where the timestamp ended, so line
 * parsers can read a timestamp at the head of a line. Times without a zone are read in the configured
 * zone; times without a year (syslog, glog) take the year that puts them in the past.
 */

import type { TimeZone } from './time-zone.js';

export interface TimeContext {
  readonly zone: TimeZone;
  /** The current instant in ms (injectable for tests). */
  now(): number;
}

export interface ScannedTime {
  /** UTC ISO 8601. */
  iso: string;
  /** Index just past the timestamp. */
  end: number;
}

const monthNames: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

const day = 86_400_000;

/** `digits` decimal digits at `at`, or -1. */
function num(s: string, at: number, digits: number): number {
  let value = 0;
  for (let i = at; i < at + digits; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

const pad2 = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
const pad3 = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
/** The day of the last instant formatted: its start and `YYYY-MM-DDT`, so most instants skip a Date. */
let dayStart = Number.NaN;
let dayText = '';

/** ISO text for an instant; `extra` holds fraction digits finer than milliseconds. */
export function isoFromMs(ms: number, extra = ''): string | undefined {
  if (!Number.isFinite(ms) || ms < 0 || ms > 253_402_300_799_999) {
    if (!Number.isFinite(ms) || ms < -62_135_596_800_000 || ms > 253_402_300_799_999) return undefined;
    const iso = new Date(ms).toISOString();
    return extra === '' ? iso : `${iso.slice(0, 23)}${extra}Z`;
  }
  let inDay = ms - dayStart;
  if (!(inDay >= 0 && inDay < day)) {
    dayStart = ms - (ms % day);
    dayText = new Date(dayStart).toISOString().slice(0, 11);
    inDay = ms - dayStart;
  }
  const seconds = Math.floor(inDay / 1000);
  return `${dayText}${pad2[Math.floor(seconds / 3600)]}:${pad2[Math.floor(seconds / 60) % 60]}:${pad2[seconds % 60]}.${pad3[inDay % 1000]}${extra}Z`;
}

/**
 * Writes the ISO text of an instant in milliseconds (0 up to the year 9999) as 24 bytes at `at`; answers
 * the index after. The same text as isoFromMs without making a string: JSON lines with epoch times.
 */
export function writeIsoMs(buf: Uint8Array, at: number, ms: number): number {
  let inDay = ms - dayStart;
  if (!(inDay >= 0 && inDay < day)) {
    dayStart = ms - (ms % day);
    dayText = new Date(dayStart).toISOString().slice(0, 11);
    inDay = ms - dayStart;
  }
  for (let k = 0; k < 11; k++) buf[at++] = dayText.charCodeAt(k);
  const seconds = Math.floor(inDay / 1000);
  const two = (n: number, after: number) => {
    buf[at++] = 48 + Math.floor(n / 10);
    buf[at++] = 48 + (n % 10);
    buf[at++] = after;
  };
  two(Math.floor(seconds / 3600), 58);
  two(Math.floor(seconds / 60) % 60, 58);
  two(seconds % 60, 46);
  const millis = inDay % 1000;
  buf[at++] = 48 + Math.floor(millis / 100);
  buf[at++] = 48 + (Math.floor(millis / 10) % 10);
  buf[at++] = 48 + (millis % 10);
  buf[at++] = 90;
  return at;
}

/** Seconds, milliseconds, microseconds or nanoseconds since the epoch, told apart by magnitude. */
export function isoFromEpoch(value: number): string | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  if (value < 1e11) return isoFromMs(Math.round(value * 1000));
  if (value < 1e14) return isoFromMs(Math.round(value));
  if (value < 1e17)
    return isoFromMs(Math.floor(value / 1000), String(Math.floor(value) % 1000).padStart(3, '0'));
  return isoFromMs(Math.floor(value / 1e6));
}

function validClock(h: number, mi: number, se: number): boolean {
  return h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && se >= 0 && se <= 60;
}

/** Reads `.123456` or `,123` at `at`: milliseconds, finer digits, and the index after. */
function fraction(s: string, at: number): { ms: number; extra: string; end: number } {
  const c = s.charCodeAt(at);
  if ((c !== 46 && c !== 44) || !isDigit(s.charCodeAt(at + 1))) return { ms: 0, extra: '', end: at };
  let end = at + 1;
  while (end < s.length && isDigit(s.charCodeAt(end))) end++;
  const digits = s.slice(at + 1, Math.min(end, at + 10));
  return { ms: Number(digits.slice(0, 3).padEnd(3, '0')), extra: digits.slice(3), end };
}

/** `Z`, `+02:00`, `+0200`, `+02`, ` UTC`, ` GMT` at `at`: offset in ms and the index after, if any. */
function zoneOffset(s: string, at: number): { offset: number; end: number } | undefined {
  const c = s.charCodeAt(at);
  if (c === 90 || c === 122) return { offset: 0, end: at + 1 };
  if (c === 43 || c === 45) {
    const h = num(s, at + 1, 2);
    if (h < 0 || h > 18) return undefined;
    let m = 0;
    let end = at + 3;
    if (s.charCodeAt(end) === 58) {
      m = num(s, end + 1, 2);
      if (m < 0) return undefined;
      end += 3;
    } else if (isDigit(s.charCodeAt(end))) {
      m = num(s, end, 2);
      if (m < 0) return undefined;
      end += 2;
    }
    return { offset: (c === 45 ? -1 : 1) * (h * 60 + m) * 60_000, end };
  }
  if (c === 32) {
    const word = s.slice(at + 1, at + 4);
    if ((word === 'UTC' || word === 'GMT') && !isLetter(s.charCodeAt(at + 4)))
      return { offset: 0, end: at + 4 };
  }
  return undefined;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** The instant of a wall-clock reading: with its own offset, else in the configured zone. */
function instant(wall: number, offset: number | undefined, ctx: TimeContext): number {
  return offset === undefined ? ctx.zone.toUtc(wall) : wall - offset;
}

/**
 * `2024-05-01T10:00:00Z`, `2024-05-01 10:00:00,123`, `2024-05-01T10:00:00.123456+02:00`,
 * `2024/05/01 10:00:00` (Go's log package) at `at`; seconds and zone optional.
 */
export function scanIso(s: string, at: number, ctx: TimeContext): ScannedTime | undefined {
  const y = num(s, at, 4);
  const sep = s.charCodeAt(at + 4);
  if (y < 0 || (sep !== 45 && sep !== 47) || s.charCodeAt(at + 7) !== sep) return undefined;
  const mo = num(s, at + 5, 2);
  const d = num(s, at + 8, 2);
  const t = s.charCodeAt(at + 10);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || (t !== 84 && t !== 32 && t !== 116)) return undefined;
  const h = num(s, at + 11, 2);
  const mi = num(s, at + 14, 2);
  if (s.charCodeAt(at + 13) !== 58 || h < 0 || mi < 0) return undefined;
  let se = 0;
  let end = at + 16;
  if (s.charCodeAt(end) === 58) {
    se = num(s, end + 1, 2);
    if (se < 0) return undefined;
    end += 3;
  }
  if (!validClock(h, mi, se)) return undefined;
  const frac = fraction(s, end);
  end = frac.end;
  const zone = zoneOffset(s, end);
  const wall = Date.UTC(y, mo - 1, d, h, mi, se, frac.ms);
  if (new Date(wall).getUTCDate() !== d) return undefined;
  const iso = isoFromMs(instant(wall, zone?.offset, ctx), frac.extra);
  return iso === undefined ? undefined : { iso, end: zone?.end ?? end };
}

/** The last access-log time read and its result: such lines share their second with their neighbours. */
let lastClfText = '';
let lastClfIso = '';

/** Common Log Format: `10/Oct/2000:13:55:36 -0700`. */
export function scanClf(s: string, at: number): ScannedTime | undefined {
  if (lastClfText !== '' && s.startsWith(lastClfText, at))
    return { iso: lastClfIso, end: at + lastClfText.length };
  const scanned = scanClfUncached(s, at);
  if (scanned) {
    lastClfText = s.slice(at, scanned.end);
    lastClfIso = scanned.iso;
  }
  return scanned;
}

function scanClfUncached(s: string, at: number): ScannedTime | undefined {
  const d = num(s, at, 2);
  const mo = monthNames[s.slice(at + 3, at + 6)];
  const y = num(s, at + 7, 4);
  const h = num(s, at + 12, 2);
  const mi = num(s, at + 15, 2);
  const se = num(s, at + 18, 2);
  if (d < 1 || mo === undefined || y < 0 || !validClock(h, mi, se)) return undefined;
  if (s.charCodeAt(at + 2) !== 47 || s.charCodeAt(at + 11) !== 58 || s.charCodeAt(at + 20) !== 32)
    return undefined;
  const zone = zoneOffset(s, at + 21);
  if (!zone) return undefined;
  const iso = isoFromMs(Date.UTC(y, mo, d, h, mi, se) - zone.offset);
  return iso === undefined ? undefined : { iso, end: zone.end };
}

/**
 * A wall-clock date without a year, in the configured zone: this year's, unless that is more than a
 * day ahead of now (a December line read in January), then last year's.
 */
function withoutYear(mo: number, d: number, h: number, mi: number, se: number, ms: number, ctx: TimeContext) {
  const now = ctx.now();
  const year = new Date(now + ctx.zone.offsetAt(now)).getUTCFullYear();
  let utc = ctx.zone.toUtc(Date.UTC(year, mo, d, h, mi, se, ms));
  if (utc > now + day) utc = ctx.zone.toUtc(Date.UTC(year - 1, mo, d, h, mi, se, ms));
  return utc;
}

/** BSD syslog (RFC 3164): `Oct 11 22:14:15` or `Oct  1 22:14:15`, no year, no zone. */
export function scanSyslogTime(s: string, at: number, ctx: TimeContext): ScannedTime | undefined {
  const mo = monthNames[s.slice(at, at + 3)];
  if (mo === undefined || s.charCodeAt(at + 3) !== 32) return undefined;
  const d = s.charCodeAt(at + 4) === 32 ? num(s, at + 5, 1) : num(s, at + 4, 2);
  const h = num(s, at + 7, 2);
  const mi = num(s, at + 10, 2);
  const se = num(s, at + 13, 2);
  if (
    d < 1 ||
    d > 31 ||
    !validClock(h, mi, se) ||
    s.charCodeAt(at + 9) !== 58 ||
    s.charCodeAt(at + 12) !== 58
  )
    return undefined;
  const frac = fraction(s, at + 15);
  const iso = isoFromMs(withoutYear(mo, d, h, mi, se, frac.ms, ctx), frac.extra);
  return iso === undefined ? undefined : { iso, end: frac.end };
}

/** glog/klog: `0501 10:00:00.123456` (month, day, time; no year, no zone). */
export function scanGlogTime(s: string, at: number, ctx: TimeContext): ScannedTime | undefined {
  const mo = num(s, at, 2);
  const d = num(s, at + 2, 2);
  const h = num(s, at + 5, 2);
  const mi = num(s, at + 8, 2);
  const se = num(s, at + 11, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || !validClock(h, mi, se) || s.charCodeAt(at + 4) !== 32)
    return undefined;
  const frac = fraction(s, at + 13);
  const iso = isoFromMs(withoutYear(mo - 1, d, h, mi, se, frac.ms, ctx), frac.extra);
  return iso === undefined ? undefined : { iso, end: frac.end };
}

/** A time of day alone (logback's default `HH:mm:ss.SSS`): today in the zone, or yesterday if ahead. */
export function scanClockTime(s: string, at: number, ctx: TimeContext): ScannedTime | undefined {
  const h = num(s, at, 2);
  const mi = num(s, at + 3, 2);
  const se = num(s, at + 6, 2);
  if (s.charCodeAt(at + 2) !== 58 || s.charCodeAt(at + 5) !== 58 || !validClock(h, mi, se)) return undefined;
  if (isDigit(s.charCodeAt(at + 8))) return undefined;
  const frac = fraction(s, at + 8);
  const now = ctx.now();
  const today = new Date(now + ctx.zone.offsetAt(now));
  const wall = (y: number, m: number, dd: number) => Date.UTC(y, m, dd, h, mi, se, frac.ms);
  let utc = ctx.zone.toUtc(wall(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  if (utc > now + 3_600_000) utc -= day;
  const iso = isoFromMs(utc, frac.extra);
  return iso === undefined ? undefined : { iso, end: frac.end };
}

/**
 * A time value from a structured record (JSON, logfmt, a regex group): ISO-like text, epoch numbers
 * (as numbers or digit strings), or other text with an explicit zone that Date.parse reads
 * (`Tue, 01 May 2024 10:00:00 GMT`). Undefined when it is none of these.
 */
export function timeFromValue(value: unknown, ctx: TimeContext): string | undefined {
  if (typeof value === 'number') return isoFromEpoch(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const iso = scanIso(text, 0, ctx);
  if (iso && iso.end === text.length) return iso.iso;
  if (/^\d+(\.\d+)?$/.test(text)) return isoFromEpoch(Number(text));
  const clf = scanClf(text, 0);
  if (clf && clf.end === text.length) return clf.iso;
  // Other spellings with an explicit zone; not ISO-like text, which Date.parse would take even when
  // invalid (February 30th becomes March 1st).
  if (/(?:GMT|UTC|Z|[+-]\d{2}:?\d{2})$/.test(text) && !/^\d{4}-/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return isoFromMs(ms);
  }
  return undefined;
}

const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `digits` decimal digits of bytes at `at`, or -1. */
function byteNum(b: Uint8Array, at: number, digits: number): number {
  let value = 0;
  for (let i = at; i < at + digits; i++) {
    const c = (b[i] as number) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

/**
 * Whether bytes [s, e) are already what the output holds: `YYYY-MM-DDTHH:MM:SS.fff[fff...]Z` with at
 * least millisecond digits, a valid date and clock. Such a time is copied as it is, without a Date.
 */
export function isCanonicalUtc(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  if (n < 24 || n > 30 || b[e - 1] !== 90 || b[s + 19] !== 46) return false;
  if (b[s + 4] !== 45 || b[s + 7] !== 45 || b[s + 10] !== 84 || b[s + 13] !== 58 || b[s + 16] !== 58)
    return false;
  for (let i = s + 20; i < e - 1; i++) if (!isDigit(b[i] as number)) return false;
  const y = byteNum(b, s, 4);
  const mo = byteNum(b, s + 5, 2);
  const d = byteNum(b, s + 8, 2);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > (daysInMonth[mo - 1] as number)) return false;
  if (mo === 2 && d === 29 && (y % 4 !== 0 || (y % 100 === 0 && y % 400 !== 0))) return false;
  const h = byteNum(b, s + 11, 2);
  const mi = byteNum(b, s + 14, 2);
  const se = byteNum(b, s + 17, 2);
  return validClock(h, mi, se) && se < 60;
}
