/**
 * syslog lines: RFC 5424 (`<165>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] msg`) and BSD
 * syslog, RFC 3164 (`<34>Oct 11 22:14:15 host tag[pid]: msg`), with or without the `<PRI>` (files
 * written by syslogd have none) and with an RFC 3339 time instead (rsyslog's file format). The PRI's
 * severity is the level; its facility a field.
 */

import { levelFromSeverity } from '../levels.js';
import type { ParsedLine } from '../record.js';
import { scanIso, scanSyslogTime, type TimeContext } from '../time.js';

const facilities = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'solaris-cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];

/** `<PRI>` at the start: its value and the index after, or undefined. */
function priority(line: string): { pri: number; end: number } | undefined {
  if (line.charCodeAt(0) !== 60) return undefined;
  const close = line.indexOf('>', 1);
  if (close < 2 || close > 4) return undefined;
  const text = line.slice(1, close);
  if (!/^\d+$/.test(text)) return undefined;
  const pri = Number(text);
  return pri <= 191 ? { pri, end: close + 1 } : undefined;
}

/** The next space-delimited token from `at`: its text and the index after the space. */
function token(line: string, at: number): { text: string; end: number } | undefined {
  const space = line.indexOf(' ', at);
  if (space === at) return undefined;
  return space < 0
    ? { text: line.slice(at), end: line.length }
    : { text: line.slice(at, space), end: space + 1 };
}

/** RFC 5424 STRUCTURED-DATA: `[id k="v" ...][id2 ...]`, or `-`. Param values unescape `\"`, `\\`, `\]`. */
function structuredData(
  line: string,
  at: number,
): { sd: Record<string, Record<string, string>>; end: number } | undefined {
  const sd: Record<string, Record<string, string>> = {};
  if (line.charCodeAt(at) === 45) return { sd, end: at + 1 };
  let i = at;
  while (line.charCodeAt(i) === 91) {
    const idEnd = line.slice(i + 1).search(/[ \]]/);
    if (idEnd <= 0) return undefined;
    const id = line.slice(i + 1, i + 1 + idEnd);
    const params: Record<string, string> = {};
    i = i + 1 + idEnd;
    while (line.charCodeAt(i) === 32) {
      const eq = line.indexOf('="', i + 1);
      if (eq < 0) return undefined;
      const name = line.slice(i + 1, eq);
      let value = '';
      let j = eq + 2;
      for (;;) {
        if (j >= line.length) return undefined;
        const c = line[j];
        if (c === '\\' && j + 1 < line.length) {
          value += line[j + 1];
          j += 2;
          continue;
        }
        if (c === '"') break;
        value += c;
        j++;
      }
      params[name] = value;
      i = j + 1;
    }
    if (line.charCodeAt(i) !== 93) return undefined;
    sd[id] = params;
    i++;
  }
  return i === at ? undefined : { sd, end: i };
}

const nil = (text: string) => (text === '-' ? undefined : text);

function rfc5424(line: string, at: number, ctx: TimeContext): ParsedLine | undefined {
  const stamp = token(line, at);
  if (!stamp) return undefined;
  let time: string | undefined;
  if (stamp.text !== '-') {
    const scanned = scanIso(stamp.text, 0, ctx);
    if (!scanned || scanned.end !== stamp.text.length) return undefined;
    time = scanned.iso;
  }
  const host = token(line, stamp.end);
  const app = host && token(line, host.end);
  const proc = app && token(line, app.end);
  const msgid = proc && token(line, proc.end);
  if (!msgid) return undefined;
  const data = structuredData(line, msgid.end);
  if (!data) return undefined;
  let msg = line.slice(data.end).replace(/^ /, '');
  if (msg.charCodeAt(0) === 0xfeff) msg = msg.slice(1);
  const fields: Record<string, unknown> = {
    hostname: nil(host.text),
    appname: nil(app.text),
    procid: nil(proc.text),
    msgid: nil(msgid.text),
  };
  if (Object.keys(data.sd).length > 0) fields.sd = data.sd;
  return { format: 'syslog', ...(time === undefined ? {} : { time }), msg, fields };
}

function rfc3164(line: string, at: number, ctx: TimeContext): ParsedLine | undefined {
  const stamp = scanSyslogTime(line, at, ctx) ?? scanIso(line, at, ctx);
  if (!stamp || line.charCodeAt(stamp.end) !== 32) return undefined;
  const host = token(line, stamp.end + 1);
  if (!host || host.end >= line.length) return undefined;
  const fields: Record<string, unknown> = { hostname: host.text };
  let msg = line.slice(host.end);
  const tag = /^([^\s:[\]]{1,48})(?:\[([^\]\s]{1,32})\])?: /.exec(msg);
  if (tag) {
    fields.appname = tag[1];
    if (tag[2] !== undefined) fields.procid = tag[2];
    msg = msg.slice(tag[0].length);
  }
  return { format: 'syslog', time: stamp.iso, msg, fields };
}

export function parseSyslog(line: string, ctx: TimeContext): ParsedLine | undefined {
  const pri = priority(line);
  const at = pri?.end ?? 0;
  const parsed =
    pri && line.charCodeAt(at) === 49 && line.charCodeAt(at + 1) === 32
      ? rfc5424(line, at + 2, ctx)
      : rfc3164(line, at, ctx);
  if (!parsed) return undefined;
  if (pri) {
    const level = levelFromSeverity(pri.pri & 7);
    if (level) parsed.level = level;
    parsed.fields = { facility: facilities[pri.pri >> 3], ...parsed.fields };
  }
  return parsed;
}
