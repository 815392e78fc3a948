/**
 * One input's way from bytes to records: split lines on the bytes, cap their length, take JSON lines
 * through the fast path, gather multi-line records, parse, and append each record to the output with
 * the input position it ends at (committed once the output has written it).
 */

import { isUtf8 } from 'node:buffer';
import { autoParser, explicitParser, type LineParser } from './formats/index.js';
import { FastJson } from './formats/json-fast.js';
import { type Level, levels } from './levels.js';
import { Continuations, type MultilineMode, traceKind } from './multiline.js';
import type { FormatOption } from './options.js';
import type { Committable, Output } from './output.js';
import { PartialLine } from './partial-line.js';
import { type FormatName, formatNames, type RecordShape, recordShape, writeRecord } from './record.js';
import type { Stats } from './stats.js';
import { characterBoundary, decodeText } from './text.js';
import { isoFromMs, type TimeContext } from './time.js';

/** What every input shares: the options that shape records. */
export interface PipelineSettings {
  readonly format: FormatOption;
  readonly pattern: RegExp | undefined;
  readonly multiline: MultilineMode;
  readonly multilineTimeoutMs: number;
  readonly maxLineBytes: number;
  readonly extras: readonly (readonly [string, string])[];
  readonly time: TimeContext;
}

interface OpenRecord {
  head: string;
  lines: string[];
  bytes: number;
  heldBlanks: number;
  endOffset: number;
  truncatedBytes: number;
  lastAt: number;
}

const jsonIndex = formatNames.indexOf('json');

function isBlank(line: string): boolean {
  return line.trim() === '';
}

export class Pipeline {
  readonly #shape: RecordShape;
  readonly #parse: LineParser;
  readonly #fast: FastJson | undefined;
  readonly #continuations: Continuations;
  readonly #partial: PartialLine;
  #open: OpenRecord | undefined;
  /** The time of records that carry none: when they were read. */
  readonly #now: () => string;
  /** Input offset just past the last byte pushed. */
  #position: number;

  constructor(
    readonly source: string,
    readonly fileLevel: Level | undefined,
    readonly settings: PipelineSettings,
    readonly output: Output,
    readonly stats: Stats,
    readonly cursor: Committable,
    position = 0,
  ) {
    this.#shape = recordShape(source, settings.extras);
    this.#parse =
      settings.format === 'auto'
        ? autoParser(settings.time)
        : explicitParser(settings.format, settings.time, settings.pattern);
    const jsonFirst = settings.format === 'auto' || settings.format === 'json';
    this.#fast =
      jsonFirst && settings.multiline.kind !== 'regex' ? new FastJson(this.#shape, settings.time) : undefined;
    this.#continuations = new Continuations(settings.multiline);
    this.#partial = new PartialLine(settings.maxLineBytes);
    this.#position = position;
    const clock = settings.time.now;
    this.#now = () => isoFromMs(clock()) as string;
  }

  /** Input offset just past the last byte pushed. */
  get position(): number {
    return this.#position;
  }

  /** Takes bytes [start, end) of `chunk`, which continue the input at `position`. */
  push(chunk: Buffer, start: number, end: number): void {
    const view = chunk.subarray(start, end);
    const base = this.#position;
    this.#position += view.length;
    this.stats.bytesRead += view.length;
    let i = 0;
    const partial = this.#partial;
    if (!partial.empty) {
      const newline = view.indexOf(10);
      if (newline < 0) {
        partial.append(view, 0, view.length);
        return;
      }
      partial.append(view, 0, newline);
      this.#heldLine(base + newline + 1);
      i = newline + 1;
    }
    const last = view.lastIndexOf(10);
    if (last >= i) {
      const valid = isUtf8(view.subarray(i, last + 1));
      const max = this.settings.maxLineBytes;
      while (i <= last) {
        const newline = view.indexOf(10, i);
        if (newline - i > max) {
          const cut = characterBoundary(view, i, max);
          this.#line(view, i, cut, base + newline + 1, newline - cut, false);
        } else {
          this.#line(view, i, newline, base + newline + 1, 0, valid);
        }
        i = newline + 1;
      }
    }
    if (i < view.length) partial.append(view, i, view.length);
  }

  /**
   * Emits the open record if no line has come for the multi-line timeout. Answers when it will be due
   * otherwise (ms timestamp), or undefined when nothing waits.
   */
  flushIdle(now: number): number | undefined {
    const open = this.#open;
    if (!open) return undefined;
    const due = open.lastAt + this.settings.multilineTimeoutMs;
    if (now < due) return due;
    this.#emitOpen();
    return undefined;
  }

  /** Emits everything held: the open record, and the unfinished last line when `partialLine` is set. */
  end(partialLine: boolean): void {
    if (partialLine && !this.#partial.empty) this.#heldLine(this.#position);
    this.#emitOpen();
  }

  /** The held line is complete: it ends at input offset `endOffset`. */
  #heldLine(endOffset: number): void {
    const partial = this.#partial;
    const buf = partial.buffer;
    const max = this.settings.maxLineBytes;
    const total = partial.length + partial.dropped;
    if (total > max) {
      const cut = characterBoundary(buf, 0, max);
      this.#line(buf, 0, cut, endOffset, total - cut, false);
    } else {
      this.#line(buf, 0, partial.length, endOffset, 0, false);
    }
    partial.clear();
  }

  /** A line of bytes [s, e) without its newline; `truncatedBytes` were cut off its end. */
  #line(
    b: Buffer,
    s: number,
    e: number,
    endOffset: number,
    truncatedBytes: number,
    validUtf8: boolean,
  ): void {
    if (e > s && b[e - 1] === 13 && truncatedBytes === 0) e--;
    const stats = this.stats;
    stats.lines++;
    if (truncatedBytes > 0) stats.truncated++;
    const fast = this.#fast;
    if (
      fast !== undefined &&
      b[s] === 123 &&
      truncatedBytes === 0 &&
      (validUtf8 || isUtf8(b.subarray(s, e)))
    ) {
      if (this.#open) this.#emitOpen();
      const level = fast.write(b, s, e, this.output, this.fileLevel ?? 'info', this.#now);
      if (level >= 0) {
        stats.countAt(jsonIndex, level);
        this.output.mark(this.cursor, endOffset);
        return;
      }
    }
    const text = validUtf8 ? b.toString('utf8', s, e) : decodeText(b, s, e);
    this.#text(text, e - s, endOffset, truncatedBytes);
  }

  #text(text: string, bytes: number, endOffset: number, truncatedBytes: number): void {
    const open = this.#open;
    if (open) {
      const verdict = this.#continuations.classify(text);
      if (verdict === 'hold') {
        open.heldBlanks++;
        return;
      }
      if (verdict === 'continues') {
        const added = bytes + 1 + open.heldBlanks;
        if (open.bytes + added > this.settings.maxLineBytes) {
          if (open.truncatedBytes === 0) this.stats.truncated++;
          open.truncatedBytes += added + truncatedBytes;
        } else {
          for (; open.heldBlanks > 0; open.heldBlanks--) open.lines.push('');
          open.lines.push(text);
          open.bytes += added;
          open.truncatedBytes += truncatedBytes;
        }
        open.heldBlanks = 0;
        open.endOffset = endOffset;
        open.lastAt = Date.now();
        return;
      }
      this.#emitOpen();
    }
    if (isBlank(text)) return;
    this.#continuations.started(text);
    if (!this.#continuations.mayContinue(text)) {
      this.#emit(text, [], endOffset, truncatedBytes);
      return;
    }
    this.#open = {
      head: text,
      lines: [],
      bytes,
      heldBlanks: 0,
      endOffset,
      truncatedBytes,
      lastAt: Date.now(),
    };
  }

  #emitOpen(): void {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    this.#emit(open.head, open.lines, open.endOffset, open.truncatedBytes);
  }

  #emit(head: string, lines: readonly string[], endOffset: number, truncatedBytes: number): void {
    const parsed = this.#parse(head);
    let format: FormatName;
    let msg: string;
    let level: Level | undefined;
    let time: string | undefined;
    let fields: Record<string, unknown> | undefined;
    if (parsed) {
      ({ format, msg, level, time, fields } = parsed);
    } else {
      const tried = this.settings.format;
      if (tried !== 'auto') this.stats.failed(tried === 'clf' ? 'clf' : tried);
      else if (head.charCodeAt(0) === 123) this.stats.failed('json');
      format = 'text';
      msg = head;
    }
    const trace = parsed ? undefined : traceKind(head);
    if (trace) {
      format = trace;
      level = trace === 'go' ? 'fatal' : 'error';
      if (trace === 'python') msg = pythonException(lines) ?? head;
      fields = { stack: [head, ...lines].join('\n') };
    } else if (lines.length > 0) {
      fields = { ...fields, stack: lines.join('\n') };
    }
    if (truncatedBytes > 0) fields = { ...fields, truncated_bytes: truncatedBytes };
    level ??= this.fileLevel ?? 'info';
    writeRecord(this.output, time ?? this.#now(), level, msg, fields, this.#shape);
    this.output.mark(this.cursor, endOffset);
    this.stats.countAt(formatNames.indexOf(format), levels.indexOf(level));
  }
}

/** A Python traceback's last exception line (`ValueError: bad value`), its most useful summary. */
function pythonException(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    const c = line.charCodeAt(0);
    if (
      line !== '' &&
      c !== 32 &&
      c !== 9 &&
      !line.startsWith('During handling') &&
      !line.startsWith('The above')
    )
      return line;
  }
  return undefined;
}
