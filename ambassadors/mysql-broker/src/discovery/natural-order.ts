/**
 * Orders names as `Intl.Collator('en', { numeric: true })` does for the ASCII names discovery meets
 * (pod names, DNS names, IPv4 and IPv6 addresses), without ICU, whose collation data would stay in every
 * broker's memory once touched (docs/performance.md, mysql-broker).
 *
 * As ICU does: runs of digits compare by value (`db-2` before `db-10`, `10.0.0.9` before `10.0.0.10`);
 * other characters by the Unicode collation order, in which spaces and punctuation come before digits
 * and digits before letters (`fd00::1` before `fd00:1::1`, `mysql-0` before `mysql2-0`); letters
 * ignore case unless the names differ only in it (and in leading zeros), and then lowercase comes
 * first. Characters outside printable ASCII come after all of these, by code unit. Names equal in all
 * that (`db-07` and `db-7`, which ICU calls equal) are told apart by a last comparison, so the order
 * is total and a sort is the same whatever order the names came in.
 */

/** Printable ASCII as ICU's root collation orders it (letters folded; one place for all digits). */
const collationOrder = ` _-,;:!?.'"()[]{}@*/\\&#%\`^+<=>|~$0abcdefghijklmnopqrstuvwxyz`;
const digitRank = collationOrder.indexOf('0');

const rankOfCode = new Int16Array(128).fill(-1);
for (let i = 0; i < collationOrder.length; i++) rankOfCode[collationOrder.charCodeAt(i)] = i;
for (let code = 65; code <= 90; code++) rankOfCode[code] = rankOfCode[code + 32] as number; // A-Z as a-z
for (let code = 48; code <= 57; code++) rankOfCode[code] = digitRank;

function rank(code: number): number {
  const known = code < 128 ? (rankOfCode[code] as number) : -1;
  return known >= 0 ? known : collationOrder.length + code;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function digitRunEnd(text: string, from: number): number {
  let end = from;
  while (end < text.length && isDigit(text.charCodeAt(end))) end++;
  return end;
}

/** Two runs of digits by value, as strings of significant digits: no overflow at any length. */
function compareNumbers(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The first level: digit runs by value, everything else by rank, case ignored. */
function comparePrimary(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(j);
    if (isDigit(x) && isDigit(y)) {
      const endI = digitRunEnd(a, i);
      const endJ = digitRunEnd(b, j);
      const order = compareNumbers(a.slice(i, endI), b.slice(j, endJ));
      if (order !== 0) return order;
      i = endI;
      j = endJ;
      continue;
    }
    const order = rank(x) - rank(y);
    if (order !== 0) return order;
    i++;
    j++;
  }
  // What is left decides: a name that is the start of the other comes first.
  return a.length - i - (b.length - j);
}

/**
 * Lowercase before uppercase of the same letter, any other pair by code unit: one distinct key per
 * character, so only equal strings compare equal.
 */
function tieKey(code: number): number {
  if (code >= 65 && code <= 90) return (code + 32) * 2 + 1;
  return code * 2;
}

function compareTies(a: string, b: string): number {
  const shared = Math.min(a.length, b.length);
  for (let i = 0; i < shared; i++) {
    const order = tieKey(a.charCodeAt(i)) - tieKey(b.charCodeAt(i));
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

/** `db-007` -> `db-7`: ICU weighs case before leading zeros. */
function withoutLeadingZeros(text: string): string {
  return text.replace(/(^|\D)0+(?=\d)/g, '$1');
}

export function compareNatural(a: string, b: string): number {
  return (
    comparePrimary(a, b) ||
    compareTies(withoutLeadingZeros(a), withoutLeadingZeros(b)) ||
    // Equal but for leading zeros: any fixed order will do, this one is total.
    compareTies(a, b)
  );
}
