/**
 * Label and field selectors with apimachinery's grammar and its refusals: a selector the real server
 * rejects with 400 must be rejected here too, or a typo in a component's default would pass every test.
 */

import type { ResourceType } from './resources.js';
import { badRequest } from './status.js';
import type { KubeObject } from './types.js';
import { labelKeyProblem, labelValueProblem } from './validation.js';

export type Matcher = (obj: KubeObject) => boolean;
type LabelTest = (labels: Readonly<Record<string, string>>) => boolean;

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'op'; text: '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '<' | '>' }
  | { kind: 'end' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '=' || ch === '!') {
      const two = text.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        tokens.push({ kind: 'op', text: two });
        i += 2;
      } else {
        tokens.push({ kind: 'op', text: ch });
        i++;
      }
    } else if ('(),<>'.includes(ch)) {
      tokens.push({ kind: 'op', text: ch as '(' | ')' | ',' | '<' | '>' });
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[\s=!(),<>]/.test(text[j])) j++;
      tokens.push({ kind: 'word', text: text.slice(i, j) });
      i = j;
    }
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

function describe(token: Token): string {
  return token.kind === 'end' ? 'end of string' : `'${token.text}'`;
}

function checkKey(key: string): void {
  const problem = labelKeyProblem(key);
  if (problem) throw badRequest(`unable to parse requirement: key: Invalid value: "${key}": ${problem}`);
}

function checkValue(value: string): void {
  const problem = labelValueProblem(value);
  if (problem)
    throw badRequest(`unable to parse requirement: values[0]: Invalid value: "${value}": ${problem}`);
}

/** Parses a label selector; throws a 400 StatusError like the real server for a malformed one. */
export function parseLabelSelector(text: string): LabelTest {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const fail = (token: Token, expected: string) =>
    badRequest(`unable to parse requirement: found ${describe(token)}, expected: ${expected}`);
  const word = (expected: string): string => {
    const token = next();
    if (token.kind !== 'word') throw fail(token, expected);
    return token.text;
  };

  const requirements: LabelTest[] = [];
  if (peek().kind === 'end') return () => true;
  for (;;) {
    requirements.push(parseRequirement());
    const token = next();
    if (token.kind === 'end') break;
    if (token.kind !== 'op' || token.text !== ',') throw fail(token, "',' or end of string");
  }
  return (labels) => requirements.every((test) => test(labels));

  function parseRequirement(): LabelTest {
    const negated = peek().kind === 'op' && (peek() as { text: string }).text === '!';
    if (negated) next();
    const key = word(negated ? "identifier after '!'" : 'identifier');
    checkKey(key);
    const has = (labels: Readonly<Record<string, string>>) => Object.hasOwn(labels, key);
    if (negated) return (labels) => !has(labels);
    const op = peek();
    if (op.kind === 'end' || (op.kind === 'op' && op.text === ',')) return has;
    next();
    if (op.kind === 'word' && (op.text === 'in' || op.text === 'notin')) {
      const values = parseValueSet();
      return op.text === 'in'
        ? (labels) => has(labels) && values.has(labels[key])
        : (labels) => !has(labels) || !values.has(labels[key]);
    }
    if (op.kind !== 'op') throw fail(op, "'=', '!=', '==', 'in', 'notin', '<', '>'");
    if (op.text === '<' || op.text === '>') {
      const raw = word('integer value');
      const bound = Number(raw);
      if (!/^-?\d+$/.test(raw))
        throw badRequest(
          `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`,
        );
      return (labels) => {
        if (!has(labels) || !/^-?\d+$/.test(labels[key])) return false;
        return op.text === '<' ? Number(labels[key]) < bound : Number(labels[key]) > bound;
      };
    }
    if (op.text !== '=' && op.text !== '==' && op.text !== '!=')
      throw fail(op, "'=', '!=', '==', 'in', 'notin'");
    // `a=` is a valid requirement for the empty value.
    const value = peek().kind === 'word' ? word('value') : '';
    checkValue(value);
    return op.text === '!='
      ? (labels) => labels[key] !== value
      : (labels) => has(labels) && labels[key] === value;
  }

  function parseValueSet(): Set<string> {
    const open = next();
    if (open.kind !== 'op' || open.text !== '(') throw fail(open, "'('");
    const values = new Set<string>();
    for (;;) {
      const token = next();
      if (token.kind === 'word') {
        checkValue(token.text);
        values.add(token.text);
        const after = next();
        if (after.kind === 'op' && after.text === ')') return values;
        if (after.kind !== 'op' || after.text !== ',') throw fail(after, "',' or ')'");
      } else if (token.kind === 'op' && token.text === ')' && values.size === 0) {
        // `a in ()` is accepted by the real parser and matches nothing (`notin ()` matches everything).
        return values;
      } else {
        throw fail(token, 'value');
      }
    }
  }
}

interface FieldTerm {
  field: string;
  value: string;
  negated: boolean;
}

/** Splits on unescaped `sep`, keeping escapes for the next step. */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      current += text.slice(i, i + 2);
      i++;
    } else if (text[i] === sep) {
      parts.push(current);
      current = '';
    } else {
      current += text[i];
    }
  }
  parts.push(current);
  return parts;
}

function unescapeField(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

function parseFieldTerms(text: string): FieldTerm[] {
  return splitUnescaped(text, ',')
    .filter((term) => term !== '')
    .map((term) => {
      const match = /^((?:[^\\=!]|\\.)*?)(!=|==|=)(.*)$/.exec(term);
      if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
      return { field: unescapeField(match[1]), value: unescapeField(match[3]), negated: match[2] === '!=' };
    });
}

/** Parses a field selector for a resource; unsupported fields get the real server's 400. */
export function parseFieldSelector(text: string, rt: ResourceType): Matcher {
  const tests = parseFieldTerms(text).map(({ field, value, negated }) => {
    const get =
      field === 'metadata.name'
        ? (obj: KubeObject) => obj.metadata?.name ?? ''
        : field === 'metadata.namespace'
          ? (obj: KubeObject) => obj.metadata?.namespace ?? ''
          : rt.fields[field];
    if (!get) throw badRequest(`field label not supported: ${field}`);
    return (obj: KubeObject) => (get(obj) === value) !== negated;
  });
  return (obj) => tests.every((test) => test(obj));
}

/** One matcher for both selectors; parse errors surface before a list or watch starts. */
export function objectMatcher(
  rt: ResourceType,
  selectors: { labelSelector?: string; fieldSelector?: string },
): Matcher {
  const labels = parseLabelSelector(selectors.labelSelector ?? '');
  const fields = parseFieldSelector(selectors.fieldSelector ?? '', rt);
  return (obj) => labels(obj.metadata?.labels ?? {}) && fields(obj);
}
