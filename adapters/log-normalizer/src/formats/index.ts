/**
 * Which parser reads a line: the one `--format` names, or with `auto` the one the line looks like,
 * decided per line from its first characters (the parser that read the previous line of the same input
 * is tried first, since an input rarely mixes formats).
 */

import type { FormatOption } from '../options.js';
import type { ParsedLine } from '../record.js';
import type { TimeContext } from '../time.js';
import { parseAccessLog } from './access-log.js';
import { parseGlog } from './glog.js';
import { parseJson } from './json.js';
import { parseLog4j } from './log4j.js';
import { logfmtPairs, parseLogfmt } from './logfmt.js';
import { parseRegex } from './regex.js';
import { parseSyslog } from './syslog.js';

export type LineParser = (line: string) => ParsedLine | undefined;

const monthStart = /^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d /;
const pythonStart = /^(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):/;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** logfmt as auto sees it: key=value pairs from the start, with a message or level, or several pairs. */
function looksLikeLogfmt(line: string): boolean {
  if (!/^[A-Za-z_][\w.-]*=/.test(line)) return false;
  const pairs = logfmtPairs(line);
  if (!pairs) return false;
  const valued = pairs.filter(([, value]) => value !== true);
  return valued.length >= 2 || valued.some(([key]) => key === 'msg' || key === 'level' || key === 'message');
}

/** The parser for an explicit format. */
export function explicitParser(
  format: Exclude<FormatOption, 'auto'>,
  ctx: TimeContext,
  pattern?: RegExp,
): LineParser {
  switch (format) {
    case 'json':
      return (line) => parseJson(line, ctx);
    case 'logfmt':
      return (line) => parseLogfmt(line, ctx);
    case 'clf':
    case 'combined':
      return parseAccessLog;
    case 'syslog':
      return (line) => parseSyslog(line, ctx);
    case 'glog':
      return (line) => parseGlog(line, ctx);
    case 'log4j':
      return (line) => {
        const parsed = parseLog4j(line, ctx);
        return parsed?.format === 'text' ? undefined : parsed;
      };
    case 'regex': {
      if (!pattern) throw new Error('--format regex needs a pattern');
      return (line) => parseRegex(pattern, line, ctx);
    }
  }
}

/** `--format auto`: one detector per input, remembering which parser read its last line. */
export function autoParser(ctx: TimeContext): LineParser {
  const json: LineParser = (line) => parseJson(line, ctx);
  const syslog: LineParser = (line) => parseSyslog(line, ctx);
  const glog: LineParser = (line) => parseGlog(line, ctx);
  const log4j: LineParser = (line) => parseLog4j(line, ctx);
  const logfmt: LineParser = (line) => (looksLikeLogfmt(line) ? parseLogfmt(line, ctx) : undefined);
  let hint: LineParser | undefined;

  const candidates = (line: string): LineParser[] => {
    const c = line.charCodeAt(0);
    if (c === 123) return [json];
    if (c === 60) return [syslog];
    if (isDigit(c)) return [log4j, parseAccessLog];
    if (isDigit(line.charCodeAt(1)) && 'IWEFD'.includes(line[0] as string))
      return [glog, logfmt, parseAccessLog];
    if (monthStart.test(line)) return [syslog];
    if (pythonStart.test(line)) return [log4j];
    return [logfmt, parseAccessLog];
  };

  return (line) => {
    // A timestamped line without a level (format 'text') is kept only if no parser does better.
    let fallback: ParsedLine | undefined;
    if (hint) {
      const parsed = hint(line);
      if (parsed && parsed.format !== 'text') return parsed;
      fallback = parsed;
    }
    for (const parser of candidates(line)) {
      if (parser === hint) continue;
      const parsed = parser(line);
      if (parsed && parsed.format !== 'text') {
        hint = parser;
        return parsed;
      }
      fallback ??= parsed;
    }
    return fallback;
  };
}
