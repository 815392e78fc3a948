/**
 * Lines that start with a timestamp and carry a level among a few header tokens: log4j 1 and 2,
 * logback, Spring Boot, java.util.logging's one-line form, Python's logging with `%(asctime)s`, and
 * Python's default `LEVEL:logger:message`. The header is read token by token, since every framework
 * orders it its own way:
 *
 *   2024-05-01 10:00:00,123 INFO  [main] com.example.App - Started          (log4j 1)
 *   2024-05-01 10:00:00.123 [main] INFO  com.example.App - Started          (log4j 2 default)
 *   10:00:00.123 [main] INFO  com.example.App - Started                     (logback default)
 *   2024-05-01 10:00:00.123  INFO 4242 --- [main] c.e.App  : Started        (Spring Boot)
 *   2024-05-01 10:00:00,123 - myapp - ERROR - Failed                        (Python asctime - name - level)
 *   2024-05-01 10:00:00,123 INFO  [main] listening on :8080                 (the legacy app)
 *
 * A timestamped line without a recognisable level keeps its time, and the rest is the message.
 */

import { type Level, levelFromName } from '../levels.js';
import type { ParsedLine } from '../record.js';
import { scanClockTime, scanIso, type TimeContext } from '../time.js';

const levelWords = new Set([
  'TRACE',
  'DEBUG',
  'INFO',
  'WARN',
  'WARNING',
  'ERROR',
  'FATAL',
  'SEVERE',
  'CRITICAL',
  'NOTICE',
  'FINE',
  'FINER',
  'FINEST',
  'CONFIG',
]);

function headerLevel(word: string): Level | undefined {
  return levelWords.has(word.toUpperCase()) ? levelFromName(word) : undefined;
}

const pythonDefault = /^(DEBUG|INFO|WARNING|ERROR|CRITICAL):([^:\s]*):/;

/** Python's `logging.basicConfig()` default: `WARNING:root:message`. */
function parsePythonDefault(line: string): ParsedLine | undefined {
  const match = pythonDefault.exec(line);
  if (!match) return undefined;
  return {
    format: 'python',
    level: levelFromName(match[1] as string),
    msg: line.slice(match[0].length),
    fields: { logger: match[2] },
  };
}

/** `- name - LEVEL - message`: Python's asctime formats with dashes between the parts. */
function dashSeparated(rest: string, time: string): ParsedLine | undefined {
  const parts = rest.split(' - ');
  for (let i = 1; i < Math.min(parts.length, 5); i++) {
    const level = headerLevel((parts[i] as string).trim());
    if (!level) continue;
    const names = parts.slice(1, i).map((part) => part.trim());
    return {
      format: 'log4j',
      time,
      level,
      msg: parts.slice(i + 1).join(' - '),
      fields: names.length > 0 ? { logger: names.join(' - ') } : {},
    };
  }
  return undefined;
}

/** Is `rest` at `i` a separator (`-` or `:` then a space or the end)? */
function separatorAt(rest: string, i: number): boolean {
  const c = rest.charCodeAt(i);
  if (c !== 45 && c !== 58) return false;
  return i + 1 >= rest.length || rest.charCodeAt(i + 1) === 32;
}

function skipSpaces(rest: string, i: number): number {
  while (rest.charCodeAt(i) === 32 || rest.charCodeAt(i) === 9) i++;
  return i;
}

export function parseLog4j(line: string, ctx: TimeContext): ParsedLine | undefined {
  const first = line.charCodeAt(0);
  if (first < 48 || first > 57) return parsePythonDefault(line);
  const time = scanIso(line, 0, ctx) ?? scanClockTime(line, 0, ctx);
  if (!time) return undefined;
  const rest = line.slice(time.end);
  if (rest !== '' && rest.charCodeAt(0) !== 32 && rest.charCodeAt(0) !== 9) return undefined;
  if (rest.startsWith(' - ')) {
    const dashed = dashSeparated(rest, time.iso);
    if (dashed) return dashed;
  }
  const fields: Record<string, unknown> = {};
  const brackets: string[] = [];
  let level: Level | undefined;
  let i = skipSpaces(rest, 0);
  let msgStart = i;
  for (let tokens = 0; tokens < 8 && i < rest.length; tokens++) {
    if (rest.charCodeAt(i) === 91) {
      const close = rest.indexOf(']', i + 1);
      if (close < 0) break;
      const inside = rest.slice(i + 1, close).trim();
      const bracketLevel = level === undefined ? headerLevel(inside) : undefined;
      if (bracketLevel) level = bracketLevel;
      else brackets.push(inside);
      i = msgStart = skipSpaces(rest, close + 1);
      continue;
    }
    if (separatorAt(rest, i)) {
      msgStart = skipSpaces(rest, i + 1);
      if (level !== undefined) break;
      i = msgStart;
      continue;
    }
    let end = i;
    while (end < rest.length && rest.charCodeAt(end) !== 32 && rest.charCodeAt(end) !== 9) end++;
    const word = rest.slice(i, end);
    const next = skipSpaces(rest, end);
    if (level === undefined && headerLevel(word)) {
      level = headerLevel(word);
      i = msgStart = next;
      continue;
    }
    if (/^\d+$/.test(word) && fields.pid === undefined && brackets.length === 0) {
      fields.pid = Number(word);
      i = msgStart = next;
      continue;
    }
    if (word === '---') {
      i = msgStart = next;
      continue;
    }
    // A logger name: a token right before a separator, or one ending with a colon (`myapp: message`).
    if (word.endsWith(':') && word.length > 1 && level !== undefined) {
      fields.logger = word.slice(0, -1);
      msgStart = next;
      break;
    }
    if (separatorAt(rest, next) && word.length > 0) {
      fields.logger = word;
      i = next;
      continue;
    }
    break;
  }
  if (brackets.length === 1) fields.thread = brackets[0];
  else if (brackets.length > 1) {
    fields.app = brackets[0];
    fields.thread = brackets[brackets.length - 1];
  }
  if (level === undefined) return { format: 'text', time: time.iso, msg: rest.trim() };
  return { format: 'log4j', time: time.iso, level, msg: rest.slice(msgStart), fields };
}
