/**
 * The JSONPath json_exporter users write: kubectl's template syntax (`{.a.b}`, `{.items[*].name}`,
 * `{[*]}`, `{$}`, `{@}`, `planet-{.location}`, `[0]`, `[-1]`, `[1:3]`, `['a','b']`, `..name`, filters
 * `[?(@.state == "ACTIVE")]`), plus what its users ask for: filters that compare numbers as numbers,
 * regular expressions (`[?(@.name =~ /^api-/)]`, `!~`), `&&` and `||`, and `{~}`: the key (or index)
 * under which the element being read was found, so a map's keys can become labels.
 *
 * Compiled once when the mapping is loaded; evaluation is a walk over the parsed JSON, no eval.
 */

export interface Node {
  readonly value: unknown;
  /** The property name or array index this value was found under; undefined for a root. */
  readonly key: string | undefined;
}

type Step =
  | { kind: 'field'; names: readonly string[] }
  | { kind: 'wildcard' }
  | { kind: 'descend' }
  | { kind: 'index'; indices: readonly number[] }
  | { kind: 'slice'; start: number | undefined; end: number | undefined; step: number }
  | { kind: 'filter'; test: Predicate }
  | { kind: 'key' };

type Predicate = (node: Node, root: Node) => boolean;

export interface Path {
  readonly steps: readonly Step[];
}

/** Literal text and paths, as in `planet-{.location}`. */
export type Template = ReadonlyArray<string | Path>;

export class PathError extends Error {}

/** Parses a kubectl JSONPath template; throws PathError naming what is wrong. */
export function parseTemplate(source: string): Template {
  const parts: Array<string | Path> = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c !== '{') {
      text += c;
      i++;
      continue;
    }
    const close = matching(source, i, '{', '}', false);
    if (close < 0) throw new PathError(`unclosed "{" at position ${i + 1}`);
    if (text) parts.push(text);
    text = '';
    const inner = source.slice(i + 1, close).trim();
    if (/^(range|end)\b/.test(inner)) throw new PathError('{range} and {end} are not supported');
    const quoted = /^"(.*)"$/s.exec(inner);
    if (quoted) text += quoted[1];
    else parts.push(parsePath(inner));
    i = close + 1;
  }
  if (text) parts.push(text);
  return parts;
}

/**
 * The index of the `close` that ends the `open` at `from`, skipping quoted strings (and, in filter
 * brackets, /regex/ literals, which follow `~`, a space or `(`); -1 when there is none.
 */
function matching(source: string, from: number, open: string, close: string, regexLiterals: boolean): number {
  let quote: string | undefined;
  let depth = 0;
  for (let i = from; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (
      c === '"' ||
      c === "'" ||
      (regexLiterals && c === '/' && source[i - 1] !== undefined && /[~\s(]/.test(source[i - 1] as string))
    )
      quote = c;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return i;
  }
  return -1;
}

/** A template that is one path and nothing else (`{.a}`), as an object metric's path must be. */
export function singlePath(template: Template): Path | undefined {
  return template.length === 1 && typeof template[0] !== 'string' ? template[0] : undefined;
}

export function parsePath(source: string): Path {
  const steps: Step[] = [];
  let i = 0;
  if (source[0] === '$' || source[0] === '@') i = 1;
  if (source === '') throw new PathError('empty path: write {$} for the whole document');
  while (i < source.length) {
    const c = source[i];
    if (c === '~') {
      if (i !== source.length - 1) throw new PathError('"~" (the key) must end the path');
      steps.push({ kind: 'key' });
      i++;
    } else if (source.startsWith('..', i)) {
      steps.push({ kind: 'descend' });
      i += 2;
      if (source[i] === '[') continue;
      i = fieldStep(source, i, steps);
    } else if (c === '.') {
      i++;
      if (source[i] === '[') continue;
      i = fieldStep(source, i, steps);
    } else if (c === '[') {
      const close = matching(source, i, '[', ']', true);
      if (close < 0) throw new PathError(`unclosed "[" at position ${i + 1}`);
      steps.push(bracketStep(source.slice(i + 1, close).trim()));
      i = close + 1;
    } else if (i === 0) {
      // kubectl writes `{.a}`; a bare `a.b` is read the same way.
      i = fieldStep(source, i, steps);
    } else {
      throw new PathError(
        `unexpected ${JSON.stringify(c)} at position ${i + 1} of ${JSON.stringify(source)}`,
      );
    }
  }
  return { steps };
}

function fieldStep(source: string, start: number, steps: Step[]): number {
  if (source[start] === '*') {
    steps.push({ kind: 'wildcard' });
    return start + 1;
  }
  let end = start;
  while (end < source.length && !'.[~'.includes(source[end] as string)) end++;
  const name = source.slice(start, end);
  if (!name || /\s/.test(name))
    throw new PathError(`expected a field name at position ${start + 1} of ${JSON.stringify(source)}`);
  steps.push({ kind: 'field', names: [name] });
  return end;
}

function bracketStep(inner: string): Step {
  if (inner === '*') return { kind: 'wildcard' };
  if (inner.startsWith('?(') && inner.endsWith(')'))
    return { kind: 'filter', test: parseFilter(inner.slice(2, -1)) };
  if (/^['"]/.test(inner)) return { kind: 'field', names: splitList(inner).map(unquote) };
  if (/^-?\d+(\s*,\s*-?\d+)*$/.test(inner)) return { kind: 'index', indices: inner.split(',').map(Number) };
  const slice = /^(-?\d+)?\s*:\s*(-?\d+)?(?:\s*:\s*(-?\d+))?$/.exec(inner);
  if (slice) {
    const step = slice[3] === undefined ? 1 : Number(slice[3]);
    if (step <= 0) throw new PathError(`slice step must be positive in [${inner}]`);
    return {
      kind: 'slice',
      start: slice[1] === undefined ? undefined : Number(slice[1]),
      end: slice[2] === undefined ? undefined : Number(slice[2]),
      step,
    };
  }
  throw new PathError(`cannot read [${inner}]: expected *, an index, a slice, quoted names or ?(filter)`);
}

function splitList(inner: string): string[] {
  const items: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i] as string;
    if (quote) {
      current += c;
      if (c === '\\') current += inner[++i] ?? '';
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      current += c;
    } else if (c === ',') {
      items.push(current.trim());
      current = '';
    } else current += c;
  }
  items.push(current.trim());
  return items;
}

function unquote(text: string): string {
  const m = /^(['"])(.*)\1$/s.exec(text);
  if (!m) throw new PathError(`expected a quoted name, got ${text}`);
  return (m[2] as string).replace(/\\(.)/g, '$1');
}

// --- filters -------------------------------------------------------------------------------------

type Operand = (node: Node, root: Node) => unknown;

const comparison = /^(.*?)\s*(==|!=|<=|>=|<|>|=~|!~)\s*(.*)$/s;

function parseFilter(source: string): Predicate {
  const alternatives = splitLogical(source, '||');
  if (alternatives.length > 1) {
    const tests = alternatives.map(parseFilter);
    return (node, root) => tests.some((test) => test(node, root));
  }
  const conjuncts = splitLogical(source, '&&');
  if (conjuncts.length > 1) {
    const tests = conjuncts.map(parseFilter);
    return (node, root) => tests.every((test) => test(node, root));
  }
  const text = source.trim();
  const m = comparison.exec(text);
  if (!m || !isOperandStart(m[1] as string)) {
    const exists = operand(text);
    return (node, root) => exists(node, root) !== undefined;
  }
  const op = m[2] as string;
  const left = operand(m[1] as string);
  if (op === '=~' || op === '!~') {
    const pattern = regexLiteral((m[3] as string).trim());
    const wanted = op === '=~';
    return (node, root) => {
      const value = left(node, root);
      return value !== undefined && value !== null && typeof value !== 'object'
        ? pattern.test(String(value)) === wanted
        : !wanted;
    };
  }
  const right = operand(m[3] as string);
  return (node, root) => compare(left(node, root), op, right(node, root));
}

function isOperandStart(text: string): boolean {
  return /^\s*(@|\$|'|"|-?\d|true|false|null)/.test(text);
}

function splitLogical(source: string, op: string): string[] {
  const parts: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || (c === '/' && /[~\s]/.test(source[i - 1] ?? ''))) quote = c;
    else if (source.startsWith(op, i)) {
      parts.push(source.slice(start, i));
      start = i + op.length;
      i += op.length - 1;
    }
  }
  parts.push(source.slice(start));
  return parts;
}

function operand(source: string): Operand {
  const text = source.trim();
  if (text.startsWith('@') || text.startsWith('$')) {
    const path = parsePath(text);
    const fromRoot = text.startsWith('$');
    return (node, root) => evaluate(path, fromRoot ? root : node, root)[0]?.value;
  }
  if (/^(['"]).*\1$/s.test(text)) {
    const value = unquote(text);
    return () => value;
  }
  if (text === 'true' || text === 'false') {
    const value = text === 'true';
    return () => value;
  }
  if (text === 'null') return () => null;
  const number = Number(text);
  if (text !== '' && Number.isFinite(number)) return () => number;
  throw new PathError(
    `cannot read ${JSON.stringify(text)} in a filter: expected @.field, a quoted string, a number, true, false or null`,
  );
}

function regexLiteral(text: string): RegExp {
  const literal = /^\/(.*)\/([imsu]*)$/s.exec(text);
  try {
    if (literal) return new RegExp(literal[1] as string, literal[2]);
    if (/^(['"]).*\1$/s.test(text)) return new RegExp(unquote(text));
  } catch (err) {
    throw new PathError(`not a valid regular expression ${text}: ${(err as Error).message}`);
  }
  throw new PathError(`expected a regular expression (/.../ or a quoted string) after =~, got ${text}`);
}

function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

function compare(left: unknown, op: string, right: unknown): boolean {
  if (left === undefined || right === undefined) return op === '!=' && left !== right;
  const a = numeric(left);
  const b = numeric(right);
  const bothNumbers =
    a !== undefined && b !== undefined && (typeof left === 'number' || typeof right === 'number');
  if (op === '==' || op === '!=') {
    const equal = bothNumbers ? a === b : left === right;
    return op === '==' ? equal : !equal;
  }
  if (bothNumbers) return order(a as number, b as number, op);
  if (typeof left === 'string' && typeof right === 'string') return order(left, right, op);
  return false;
}

function order<T extends number | string>(a: T, b: T, op: string): boolean {
  if (op === '<') return a < b;
  if (op === '<=') return a <= b;
  if (op === '>') return a > b;
  return a >= b;
}

// --- evaluation ----------------------------------------------------------------------------------

export function evaluate(path: Path, start: Node, root: Node = start): Node[] {
  const direct = fieldsOnly(path);
  if (direct) {
    const found = walkFields(direct, start.value);
    return found === absent ? [] : [{ value: found, key: direct[direct.length - 1] ?? start.key }];
  }
  let nodes: Node[] = [start];
  for (const step of path.steps) {
    const next: Node[] = [];
    for (const node of nodes) applyStep(step, node, root, next);
    nodes = next;
    if (nodes.length === 0) break;
  }
  return nodes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const absent = Symbol('absent');
const plainFields = new WeakMap<Path, readonly string[] | null>();

/** The names of a path made only of `.name` steps (most paths are), for a walk without node lists. */
function fieldsOnly(path: Path): readonly string[] | null {
  let names = plainFields.get(path);
  if (names === undefined) {
    const simple = path.steps.every((step) => step.kind === 'field' && step.names.length === 1);
    names = simple
      ? path.steps.map((step) => (step as { names: readonly string[] }).names[0] as string)
      : null;
    plainFields.set(path, names);
  }
  return names;
}

function walkFields(names: readonly string[], start: unknown): unknown {
  let value = start;
  for (const name of names) {
    if (!isRecord(value) || !Object.hasOwn(value, name)) return absent;
    value = value[name];
  }
  return value;
}

function children(value: unknown, out: Node[]): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) out.push({ value: value[i], key: String(i) });
  } else if (isRecord(value)) {
    for (const key of Object.keys(value)) out.push({ value: value[key], key });
  }
}

function applyStep(step: Step, node: Node, root: Node, out: Node[]): void {
  const value = node.value;
  switch (step.kind) {
    case 'field':
      if (!isRecord(value)) return;
      for (const name of step.names)
        if (Object.hasOwn(value, name)) out.push({ value: value[name], key: name });
      return;
    case 'wildcard':
      children(value, out);
      return;
    case 'descend':
      descendants(node, out);
      return;
    case 'index':
      if (!Array.isArray(value)) return;
      for (const index of step.indices) {
        const at = index < 0 ? value.length + index : index;
        if (at >= 0 && at < value.length) out.push({ value: value[at], key: String(at) });
      }
      return;
    case 'slice': {
      if (!Array.isArray(value)) return;
      const length = value.length;
      const clamp = (n: number) => Math.min(Math.max(n < 0 ? length + n : n, 0), length);
      const end = step.end === undefined ? length : clamp(step.end);
      for (let at = step.start === undefined ? 0 : clamp(step.start); at < end; at += step.step)
        out.push({ value: value[at], key: String(at) });
      return;
    }
    case 'filter': {
      const candidates: Node[] = [];
      children(value, candidates);
      for (const candidate of candidates) if (step.test(candidate, root)) out.push(candidate);
      return;
    }
    case 'key':
      out.push({ value: node.key, key: node.key });
      return;
  }
}

function descendants(node: Node, out: Node[]): void {
  out.push(node);
  const below: Node[] = [];
  children(node.value, below);
  for (const child of below) descendants(child, out);
}

/** How kubectl prints a value into a template: strings as they are, others as JSON. */
export function nodeText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}

/**
 * The value a template that is one plain field path (`{.a.b}`) finds, `absentValue` when it finds
 * nothing, or `notPlain` for any other template: the common case without node lists.
 */
export const absentValue: unique symbol = absent as never;
export const notPlain = Symbol('not a plain path');

export function plainValue(template: Template, value: unknown): unknown {
  const [only] = template;
  if (template.length !== 1 || typeof only !== 'object') return notPlain;
  const direct = fieldsOnly(only);
  return direct ? walkFields(direct, value) : notPlain;
}

/**
 * The template's text for `node`: literal parts as written, each path's results joined by spaces.
 * `missing` is set when a path found nothing.
 */
export function renderTemplate(template: Template, node: Node): { text: string; missing: boolean } {
  const [only] = template;
  if (template.length === 1 && typeof only === 'object') {
    const direct = fieldsOnly(only);
    if (direct) {
      const found = walkFields(direct, node.value);
      return found === absent ? { text: '', missing: true } : { text: nodeText(found), missing: false };
    }
  }
  let text = '';
  let missing = false;
  for (const part of template) {
    if (typeof part === 'string') {
      text += part;
      continue;
    }
    const found = evaluate(part, node);
    if (found.length === 0) missing = true;
    text += found.map((n) => nodeText(n.value)).join(' ');
  }
  return { text, missing };
}
