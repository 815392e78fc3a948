/**
 * A structural diff of two JSON values, as paths a person reads (`$.order.items[2].price`), with paths
 * to ignore (`$.timestamp`, `$.items[*].id`: the path and everything under it). Objects are compared by
 * key, whatever their order; arrays by position.
 */

export interface Difference {
  /** `$.a.b[2]` */
  path: string;
  /** `changed`: both have it, different; `added`: only the mirror has it; `removed`: only the primary. */
  kind: 'changed' | 'added' | 'removed';
  /** The values, as JSON text cut to a readable length; absent on the side that lacks the path. */
  primary?: string;
  mirror?: string;
}

export interface DiffResult {
  /** The first `limit` differences, in document order. */
  differences: Difference[];
  /** All of them. */
  count: number;
}

type Segment = string | number;
/** A compiled ignore path: `*` matches any array index. */
type Pattern = (Segment | typeof anyIndex)[];
const anyIndex = Symbol('[*]');

const identifier = /^[A-Za-z_$][\w$-]*$/;
const valueChars = 120;

/** `$.a[2]["b c"]` into segments; the syntax parse.ts's parseIgnore accepts. */
export function compilePath(path: string): Pattern {
  const segments: Pattern = [];
  const pattern = /\.([A-Za-z_$][\w$-]*)|\[(\d+|\*)\]|\["([^"]*)"\]/g;
  for (const match of path.slice(1).matchAll(pattern)) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(match[2] === '*' ? anyIndex : Number(match[2]));
    else segments.push(match[3] as string);
  }
  return segments;
}

export function formatPath(segments: readonly Segment[]): string {
  let path = '$';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else path += identifier.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
  }
  return path;
}

export function jsonDiff(
  primary: unknown,
  mirror: unknown,
  ignore: readonly Pattern[],
  limit = 20,
): DiffResult {
  const result: DiffResult = { differences: [], count: 0 };
  const record = (segments: Segment[], kind: Difference['kind'], a: unknown, b: unknown) => {
    result.count++;
    if (result.differences.length >= limit) return;
    const difference: Difference = { path: formatPath(segments), kind };
    if (kind !== 'added') difference.primary = shortJson(a);
    if (kind !== 'removed') difference.mirror = shortJson(b);
    result.differences.push(difference);
  };
  const walk = (a: unknown, b: unknown, segments: Segment[]) => {
    if (ignore.length > 0 && isIgnored(segments, ignore)) return;
    if (Array.isArray(a) && Array.isArray(b)) {
      const length = Math.max(a.length, b.length);
      for (let i = 0; i < length; i++) {
        const path = [...segments, i];
        if (i >= b.length) {
          if (!isIgnored(path, ignore)) record(path, 'removed', a[i], undefined);
        } else if (i >= a.length) {
          if (!isIgnored(path, ignore)) record(path, 'added', undefined, b[i]);
        } else walk(a[i], b[i], path);
      }
      return;
    }
    if (isObject(a) && isObject(b)) {
      for (const key of Object.keys(a)) {
        const path = [...segments, key];
        if (Object.hasOwn(b, key)) walk(a[key], b[key], path);
        else if (!isIgnored(path, ignore)) record(path, 'removed', a[key], undefined);
      }
      for (const key of Object.keys(b)) {
        const path = [...segments, key];
        if (!Object.hasOwn(a, key) && !isIgnored(path, ignore)) record(path, 'added', undefined, b[key]);
      }
      return;
    }
    if (a !== b) record(segments, 'changed', a, b);
  };
  walk(primary, mirror, []);
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A path is ignored when a pattern matches it or one of its ancestors. */
function isIgnored(segments: readonly Segment[], patterns: readonly Pattern[]): boolean {
  for (const pattern of patterns) {
    if (pattern.length > segments.length) continue;
    let matches = true;
    for (let i = 0; i < pattern.length && matches; i++) {
      const want = pattern[i];
      const have = segments[i];
      matches = want === anyIndex ? typeof have === 'number' : want === have;
    }
    if (matches) return true;
  }
  return false;
}

export function shortJson(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > valueChars ? `${text.slice(0, valueChars - 1)}…` : text;
}
