/**
 * Parsers for log-normalizer's option values that have a shape of their own. Pure: options.ts imports
 * them, and other components load options.ts to learn its names.
 */

import { Expected } from '../../../lib/option-types.js';
import { type Level, levelFromName } from './levels.js';
import { TimeZone } from './time-zone.js';

/** `--level-from-file error.log=error`: a file name glob and the level of its lines that have none. */
export interface LevelRule {
  readonly pattern: string;
  readonly matcher: RegExp;
  readonly level: Level;
}

/** A glob for one path segment (`*`, `?`, `[...]`) as an anchored RegExp; `*` skips a leading dot. */
export function segmentPattern(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') source += i === 0 ? '(?!\\.)[^/]*' : '[^/]*';
    else if (c === '?') source += i === 0 ? '[^/.]' : '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) source += '\\[';
      else {
        const body = glob
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        source += `[${body}]`;
        i = close;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export function parseLevelRule(raw: string): LevelRule {
  const eq = raw.lastIndexOf('=');
  const pattern = raw.slice(0, eq).trim();
  const level = levelFromName(raw.slice(eq + 1).trim());
  if (eq <= 0 || pattern === '' || pattern.includes('/') || !level)
    throw new Expected('<file name or glob>=<level>, e.g. error.log=error or *.err=error');
  return { pattern, matcher: segmentPattern(pattern), level };
}

/** Keys every record has already; a static field may not take them. */
const ownKeys = ['time', 'level', 'msg', 'source'];

export function parseAddField(raw: string): readonly [string, string] {
  const eq = raw.indexOf('=');
  const key = raw.slice(0, eq).trim();
  if (eq <= 0 || key === '' || ownKeys.includes(key))
    throw new Expected('key=value, with a key other than time, level, msg and source');
  return [key, raw.slice(eq + 1)] as const;
}

export function parseTimeZoneOption(raw: string): TimeZone {
  try {
    return new TimeZone(raw.trim());
  } catch {
    throw new Expected('an IANA time zone name like UTC, Europe/Berlin or America/New_York');
  }
}

/** `--pattern`: a JavaScript regular expression with at least one named group. */
export function parsePattern(raw: string): RegExp {
  let pattern: RegExp;
  try {
    pattern = new RegExp(raw);
  } catch (err) {
    throw new Expected(`a valid regular expression (${(err as Error).message})`);
  }
  if (!/\(\?<[A-Za-z_$][\w$]*>/.test(raw))
    throw new Expected(
      'a regular expression with named groups, e.g. ^(?<time>\\S+) (?<level>\\w+) (?<msg>.*)$',
    );
  return pattern;
}
