/**
 * Which version a request goes to. A sticky key (a cookie, a header, the client address) is hashed to a
 * point in [0, 1) with MurmurHash2, as nginx's split_clients does; each variant owns ranges of that
 * interval and the primary owns the rest, so the same key always lands on the same version.
 *
 * The ranges are laid out so that a weight change moves only the users it must: variants are paired in
 * their configured order, each pair shares a lane of the interval, the first variant of a pair grows up
 * from the lane's bottom and the second down from its top, the primary in between. Growing a variant
 * from 10% to 20% takes exactly the 10% of users next to its edge from the primary; nobody moves between
 * variants, nor between the primary and another variant. That holds while each lane's two weights fit in
 * the lane (one lane for one or two variants: always). Weights that do not fit are laid end to end
 * instead, which still splits exactly but lets a change move users between variants: layout() says so.
 * Adding or removing a variant re-lays the lanes.
 */

export interface Range<T> {
  /** Inclusive. */
  lo: number;
  /** Exclusive. */
  hi: number;
  target: T;
}

export interface Layout<T> {
  ranges: Range<T>[];
  /** `lanes` keeps users in place across weight changes; `end-to-end` is the fallback for weights that do not fit. */
  kind: 'lanes' | 'end-to-end';
}

/** The ranges of the variants (weights in percent, summing to 100 at most); the primary owns the rest. */
export function layout<T>(variants: readonly { weight: number; target: T }[]): Layout<T> {
  const lanes = Math.ceil(variants.length / 2);
  const width = 1 / lanes;
  const fraction = (weight: number) => weight / 100;
  let fits = true;
  for (let lane = 0; lane < lanes; lane++) {
    const pair = variants.slice(lane * 2, lane * 2 + 2);
    const used = pair.reduce((sum, v) => sum + fraction(v.weight), 0);
    if (used > width + 1e-9) fits = false;
  }
  if (!fits) {
    let at = 0;
    const ranges = variants.map(({ weight, target }) => {
      const range = { lo: at, hi: at + fraction(weight), target };
      at = range.hi;
      return range;
    });
    return { kind: 'end-to-end', ranges: ranges.filter((r) => r.hi > r.lo) };
  }
  const ranges = variants.map(({ weight, target }, index) => {
    const lane = Math.floor(index / 2);
    const bottom = lane * width;
    const top = lane === lanes - 1 ? 1 : (lane + 1) * width;
    return index % 2 === 0
      ? { lo: bottom, hi: bottom + fraction(weight), target }
      : { lo: top - fraction(weight), hi: top, target };
  });
  return { kind: 'lanes', ranges: ranges.filter((r) => r.hi > r.lo) };
}

/** The variant whose range holds `point`, or undefined for the primary. */
export function pick<T>(ranges: readonly Range<T>[], point: number): T | undefined {
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i] as Range<T>;
    if (point >= range.lo && point < range.hi) return range.target;
  }
  return undefined;
}

/**
 * MurmurHash2 (32 bits, seed 0) of a string's char codes, which for HTTP header values (latin1 in node)
 * are its bytes; as nginx's split_clients hashes its key.
 */
export function murmurHash2(text: string): number {
  const m = 0x5bd1e995;
  let length = text.length;
  let h = length;
  let i = 0;
  while (length >= 4) {
    let k =
      (text.charCodeAt(i) & 0xff) |
      ((text.charCodeAt(i + 1) & 0xff) << 8) |
      ((text.charCodeAt(i + 2) & 0xff) << 16) |
      ((text.charCodeAt(i + 3) & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
    i += 4;
    length -= 4;
  }
  if (length === 3) h ^= (text.charCodeAt(i + 2) & 0xff) << 16;
  if (length >= 2) h ^= (text.charCodeAt(i + 1) & 0xff) << 8;
  if (length >= 1) {
    h ^= text.charCodeAt(i) & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h >>> 0;
}

/** The key's point in [0, 1). */
export function pointOf(key: string): number {
  return murmurHash2(key) / 4294967296;
}
