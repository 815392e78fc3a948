/**
 * Web server access logs: the Common Log Format (`host ident user [date] "request" status bytes`) and
 * nginx's and Apache's combined format, which adds `"referer" "user agent"`. The request line is the
 * message; 5xx answers are errors and 4xx warnings, the rest info. Fields nginx logs as `-` are left
 * out; whatever follows the user agent (a custom log_format's extras) is kept as `extra`.
 */

import type { Level } from '../levels.js';
import type { ParsedLine } from '../record.js';
import { scanClf } from '../time.js';

/** Index of the quote that ends the quoted text opening at `open`, skipping `\"`; -1 if none. */
function closingQuote(line: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const quote = line.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let k = quote - 1; k > open && line.charCodeAt(k) === 92; k--) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** A quoted field's text, with Apache's `\"` and `\\` escapes undone (nginx writes `\x22`, left as is). */
function unquote(text: string): string {
  return text.includes('\\') ? text.replace(/\\(["\\])/g, '$1') : text;
}

function digits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Whether the first `length` characters are capital letters (an HTTP method). */
function upperCase(text: string, length: number): boolean {
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 65 || c > 90) return false;
  }
  return true;
}

function levelOfStatus(status: number): Level {
  return status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

export function parseAccessLog(line: string): ParsedLine | undefined {
  const a = line.indexOf(' ');
  const b = a < 1 ? -1 : line.indexOf(' ', a + 1);
  const c = b < 0 ? -1 : line.indexOf(' [', b + 1);
  if (c < 0) return undefined;
  const time = scanClf(line, c + 2);
  if (!time || line.charCodeAt(time.end) !== 93 || line.charCodeAt(time.end + 1) !== 32) return undefined;
  const requestOpen = time.end + 2;
  if (line.charCodeAt(requestOpen) !== 34) return undefined;
  const requestClose = closingQuote(line, requestOpen);
  if (requestClose < 0 || line.charCodeAt(requestClose + 1) !== 32) return undefined;
  const statusEnd = line.indexOf(' ', requestClose + 2);
  if (statusEnd < 0) return undefined;
  const statusText = line.slice(requestClose + 2, statusEnd);
  if (statusText.length !== 3 || !digits(statusText)) return undefined;
  let bytesEnd = line.indexOf(' ', statusEnd + 1);
  if (bytesEnd < 0) bytesEnd = line.length;
  const bytesText = line.slice(statusEnd + 1, bytesEnd);
  if (bytesText !== '-' && !digits(bytesText)) return undefined;

  const request = unquote(line.slice(requestOpen + 1, requestClose));
  const status = Number(statusText);
  const fields: Record<string, unknown> = { remote_addr: line.slice(0, a) };
  const ident = line.slice(a + 1, b);
  const user = line.slice(b + 1, c);
  if (ident !== '-') fields.ident = ident;
  if (user !== '-') fields.remote_user = user;
  const firstSpace = request.indexOf(' ');
  const lastSpace = request.lastIndexOf(' ');
  if (firstSpace > 0 && lastSpace > firstSpace && upperCase(request, firstSpace)) {
    fields.method = request.slice(0, firstSpace);
    fields.path = request.slice(firstSpace + 1, lastSpace);
    fields.protocol = request.slice(lastSpace + 1);
  }
  fields.status = status;
  if (bytesText !== '-') fields.bytes = Number(bytesText);

  let format: 'clf' | 'combined' = 'clf';
  let rest = bytesEnd;
  if (line.charCodeAt(bytesEnd + 1) === 34) {
    const refererClose = closingQuote(line, bytesEnd + 1);
    const agentOpen = refererClose + 2;
    const agentClose =
      refererClose > 0 && line.charCodeAt(refererClose + 1) === 32 && line.charCodeAt(agentOpen) === 34
        ? closingQuote(line, agentOpen)
        : -1;
    if (agentClose > 0) {
      format = 'combined';
      const referer = unquote(line.slice(bytesEnd + 2, refererClose));
      const agent = unquote(line.slice(agentOpen + 1, agentClose));
      if (referer !== '-') fields.referer = referer;
      if (agent !== '-') fields.user_agent = agent;
      rest = agentClose + 1;
    }
  }
  const extra = line.slice(rest).trim();
  if (extra !== '') fields.extra = extra;
  return { format, time: time.iso, level: levelOfStatus(status), msg: request, fields };
}
