/**
 * logfmt (`time=... level=info msg="hello world" user=alice`), as Go's logrus, Heroku and Grafana's
 * tools write it: bare or double-quoted values, a key without `=` is true. Values stay text.
 */

import { type Level, levelFromName } from '../levels.js';
import type { ParsedLine } from '../record.js';
import { type TimeContext, timeFromValue } from '../time.js';

const timeKeys = new Set(['time', 'ts', 't', 'timestamp', 'date']);
const levelKeys = new Set(['level', 'lvl', 'severity', 'loglevel']);
const messageKeys = new Set(['msg', 'message']);

function isKeyChar(c: number): boolean {
  return c > 32 && c !== 61 && c !== 34 && c !== 127;
}

const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };

/** The pairs of a logfmt line, or undefined when it has none or an unterminated quote. */
export function logfmtPairs(line: string): [string, string | true][] | undefined {
  const pairs: [string, string | true][] = [];
  let i = 0;
  const n = line.length;
  let sawValue = false;
  while (i < n) {
    while (i < n && line.charCodeAt(i) === 32) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && isKeyChar(line.charCodeAt(i))) i++;
    if (i === keyStart) return undefined;
    const key = line.slice(keyStart, i);
    if (line.charCodeAt(i) !== 61) {
      if (i < n && line.charCodeAt(i) !== 32) return undefined;
      pairs.push([key, true]);
      continue;
    }
    i++;
    sawValue = true;
    if (line.charCodeAt(i) === 34) {
      let value = '';
      let run = ++i;
      for (;;) {
        if (i >= n) return undefined;
        const c = line.charCodeAt(i);
        if (c === 34) break;
        if (c === 92 && i + 1 < n) {
          const escaped = escapes[line[i + 1] as string];
          value += line.slice(run, i) + (escaped ?? line[i + 1]);
          i += 2;
          run = i;
          continue;
        }
        i++;
      }
      pairs.push([key, value + line.slice(run, i)]);
      i++;
      if (i < n && line.charCodeAt(i) !== 32) return undefined;
    } else {
      const valueStart = i;
      while (i < n && line.charCodeAt(i) !== 32) i++;
      pairs.push([key, line.slice(valueStart, i)]);
    }
  }
  return sawValue ? pairs : undefined;
}

export function parseLogfmt(line: string, ctx: TimeContext): ParsedLine | undefined {
  const pairs = logfmtPairs(line);
  if (!pairs) return undefined;
  const parsed: ParsedLine = { format: 'logfmt', msg: '' };
  const fields: Record<string, unknown> = {};
  let level: Level | undefined;
  for (const [key, value] of pairs) {
    if (parsed.time === undefined && timeKeys.has(key) && typeof value === 'string') {
      const iso = timeFromValue(value, ctx);
      if (iso !== undefined) {
        parsed.time = iso;
        continue;
      }
    } else if (level === undefined && levelKeys.has(key) && typeof value === 'string') {
      level = levelFromName(value);
      if (level !== undefined) {
        parsed.level = level;
        continue;
      }
    } else if (parsed.msg === '' && messageKeys.has(key) && typeof value === 'string') {
      parsed.msg = value;
      continue;
    }
    fields[key] = value;
  }
  parsed.fields = fields;
  return parsed;
}
