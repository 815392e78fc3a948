/**
 * Which lines belong to the record before them: stack traces (Java, Python, Go) and indented
 * continuations become one record with the first line. `--multiline` picks the rules: `java`, `python`,
 * `go`, all three (`auto`), none, or `regex:<pattern>` where every line that does not match the pattern
 * continues the record (the pattern matches a record's first line, as Fluent Bit's firstline). JSON lines
 * never take continuations except in regex mode. Blank lines inside a Python or Go trace are kept only
 * when the trace goes on after them.
 */

import { Expected } from '../../../lib/option-types.js';

export type MultilineMode =
  | { readonly kind: 'auto' | 'java' | 'python' | 'go' | 'none' }
  | { readonly kind: 'regex'; readonly start: RegExp };

const kinds = ['auto', 'java', 'python', 'go', 'none'] as const;

export function parseMultiline(raw: string): MultilineMode {
  const text = raw.trim();
  if ((kinds as readonly string[]).includes(text)) return { kind: text as (typeof kinds)[number] };
  if (text.startsWith('regex:')) {
    try {
      return { kind: 'regex', start: new RegExp(text.slice('regex:'.length)) };
    } catch (err) {
      throw new Expected(`a valid regular expression after regex: (${(err as Error).message})`);
    }
  }
  throw new Expected(`one of ${kinds.join(', ')} or regex:<pattern of a first line>`);
}

/** Where a record is in a trace it may be part of. */
type Phase = 'plain' | 'py-frames' | 'py-end' | 'py-chain' | 'go-panic' | 'go-stack';

export type LineVerdict = 'continues' | 'hold' | 'starts';

const traceback = 'Traceback (most recent call last):';
const pythonChain =
  /^(?:During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)$/;
const javaCause = /^\s*(?:Caused by|Suppressed): /;
/** The first line of an exception: `java.lang.IllegalStateException: ...`, `TypeError: ...`, `Error: ...`. */
const exceptionLine = /^(?:[a-zA-Z_$][\w$]*\.)*(?:[A-Z][\w$]*)?(?:Exception|Error|Throwable)\b(?::|$| \[)/;
const goStart = /^(?:panic: |fatal error: )/;
const goroutine = /^goroutine \d+ \[/;
/** A goroutine's frame: a call (`main.main()`, `pkg.(*T).m(...)`), its file line, `created by ...`. */
const goFrame = /^(?:\t|created by |\.\.\.|[\w./*()-]+\(.*\)(?: \+0x[0-9a-f]+)?$)/;
const errorWord = /\b(?:ERROR|CRITICAL|FATAL|EXCEPTION|SEVERE|WARN(?:ING)?|error|critical|fatal|exception)\b/;

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

function isIndented(line: string): boolean {
  const c = line.charCodeAt(0);
  return (c === 32 || c === 9) && !isBlank(line);
}

/** The continuation rules for one input: the phase of its open record. */
export class Continuations {
  #phase: Phase = 'plain';
  #head = '';
  readonly #java: boolean;
  readonly #python: boolean;
  readonly #go: boolean;

  constructor(readonly mode: MultilineMode) {
    const kind = mode.kind;
    this.#java = kind === 'auto' || kind === 'java';
    this.#python = kind === 'auto' || kind === 'python';
    this.#go = kind === 'auto' || kind === 'go';
  }

  /** Whether a line that starts a record may get continuations (if not, it is a record at once). */
  mayContinue(line: string): boolean {
    const kind = this.mode.kind;
    if (kind === 'none') return false;
    return kind === 'regex' || line.charCodeAt(0) !== 123;
  }

  /** A line has started a record. */
  started(line: string): void {
    this.#head = line;
    if (this.#python && line.startsWith(traceback)) this.#phase = 'py-frames';
    else if (this.#go && goStart.test(line)) this.#phase = 'go-panic';
    else this.#phase = 'plain';
  }

  /**
   * For a line after an open record: it continues the record, it is a blank line to hold until the next
   * line decides, or it starts a new record.
   */
  classify(line: string): LineVerdict {
    const mode = this.mode;
    if (mode.kind === 'regex') return mode.start.test(line) ? 'starts' : 'continues';
    if (mode.kind === 'none') return 'starts';
    if (line.charCodeAt(0) === 123) return 'starts';
    const blank = isBlank(line);
    switch (this.#phase) {
      case 'py-frames':
        if (blank) return 'hold';
        if (!isIndented(line)) this.#phase = 'py-end';
        return 'continues';
      case 'py-end':
      case 'py-chain':
        if (blank) return 'hold';
        if (pythonChain.test(line)) {
          this.#phase = 'py-chain';
          return 'continues';
        }
        // A chained exception's traceback follows its "During handling..." line; a bare one is new.
        if (this.#phase === 'py-chain' && line.startsWith(traceback)) {
          this.#phase = 'py-frames';
          return 'continues';
        }
        return 'starts';
      case 'go-panic':
      case 'go-stack':
        if (blank) return 'hold';
        if (goroutine.test(line)) {
          this.#phase = 'go-stack';
          return 'continues';
        }
        if (this.#phase === 'go-stack' ? goFrame.test(line) : line.startsWith('[signal ')) return 'continues';
        return 'starts';
    }
    if (blank) return 'starts';
    if (isIndented(line) && mode.kind !== 'go') return 'continues';
    if (this.#java && javaCause.test(line)) return 'continues';
    // An exception after a line that reports an error (a logger's error and its stack, Java or Node).
    if (this.#java && exceptionLine.test(line) && errorWord.test(this.#head)) return 'continues';
    if (this.#python && line.startsWith(traceback) && errorWord.test(this.#head)) {
      this.#phase = 'py-frames';
      return 'continues';
    }
    if (this.#go && (goroutine.test(line) || (line.charCodeAt(0) === 9 && !isBlank(line)))) {
      if (goroutine.test(line)) this.#phase = 'go-stack';
      return 'continues';
    }
    return 'starts';
  }
}

/** What a record whose first line is `head` is, when the head is a trace of its own. */
export function traceKind(head: string): 'python' | 'go' | 'java' | undefined {
  if (head.startsWith(traceback)) return 'python';
  if (goStart.test(head)) return 'go';
  if (head.startsWith('Exception in thread ')) return 'java';
  return undefined;
}
