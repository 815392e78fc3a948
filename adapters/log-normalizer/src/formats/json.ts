/**
 * JSON lines, the general path (json-fast.ts takes most lines without it): the first time, level and
 * message keys found become the record's; a value that cannot be read stays a field under its name.
 */

import { type Level, levelFromName, levelFromNumber } from '../levels.js';
import type { ParsedLine } from '../record.js';
import { type TimeContext, timeFromValue } from '../time.js';

/** Keys read as the record's time, level and message, in the json fast path too. */
export const timeKeys = ['time', 'timestamp', 'ts', '@timestamp', 'datetime'];
export const levelKeys = ['level', 'lvl', 'severity', 'loglevel', 'levelname', 'log.level'];
export const messageKeys = ['msg', 'message'];

const timeKeySet = new Set(timeKeys);
const levelKeySet = new Set(levelKeys);
const messageKeySet = new Set(messageKeys);

export function levelFromValue(value: unknown): Level | undefined {
  if (typeof value === 'string') return levelFromName(value);
  if (typeof value === 'number') return levelFromNumber(value);
  return undefined;
}

/** A JSON object line, or undefined when the line is not one. */
export function parseJson(line: string, ctx: TimeContext): ParsedLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const object = value as Record<string, unknown>;
  const parsed: ParsedLine = { format: 'json', msg: '' };
  const fields: Record<string, unknown> = {};
  let haveTime = false;
  let haveLevel = false;
  let haveMessage = false;
  for (const key in object) {
    const field = object[key];
    if (!haveTime && timeKeySet.has(key)) {
      const iso = timeFromValue(field, ctx);
      if (iso !== undefined) {
        parsed.time = iso;
        haveTime = true;
        continue;
      }
    } else if (!haveLevel && levelKeySet.has(key)) {
      const level = levelFromValue(field);
      if (level !== undefined) {
        parsed.level = level;
        haveLevel = true;
        continue;
      }
    } else if (!haveMessage && messageKeySet.has(key) && typeof field === 'string') {
      parsed.msg = field;
      haveMessage = true;
      continue;
    }
    fields[key] = field;
  }
  parsed.fields = fields;
  return parsed;
}
