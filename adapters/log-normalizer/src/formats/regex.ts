/**
 * `--format regex --pattern '...'`: a JavaScript regular expression with named groups. The groups
 * `time`, `level` and `msg` (or `message`) fill the record's own keys; every other named group that
 * matched becomes a field.
 */

import { levelFromName } from '../levels.js';
import type { ParsedLine } from '../record.js';
import { scanSyslogTime, type TimeContext, timeFromValue } from '../time.js';

export function parseRegex(pattern: RegExp, line: string, ctx: TimeContext): ParsedLine | undefined {
  const groups = pattern.exec(line)?.groups;
  if (!groups) return undefined;
  const parsed: ParsedLine = { format: 'regex', msg: '' };
  const fields: Record<string, unknown> = {};
  for (const name in groups) {
    const value = groups[name];
    if (value === undefined) continue;
    if (name === 'time') {
      const syslog = scanSyslogTime(value, 0, ctx);
      const iso = timeFromValue(value, ctx) ?? (syslog?.end === value.length ? syslog.iso : undefined);
      if (iso !== undefined) parsed.time = iso;
      else fields.time = value;
    } else if (name === 'level') {
      const level = levelFromName(value);
      if (level !== undefined) parsed.level = level;
      else fields.level = value;
    } else if (name === 'msg' || name === 'message') {
      parsed.msg = value;
    } else {
      fields[name] = value;
    }
  }
  parsed.fields = fields;
  return parsed;
}
