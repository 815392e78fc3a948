/**
 * Which commit --ref names on the remote. A full hash names itself (no network needed); anything else
 * is looked up with one `git ls-remote`, which is also all a sync costs when nothing changed. Pure.
 */

import { Expected } from '../../../lib/option-types.js';

const refExpectation =
  "a branch, tag, full ref (refs/...), HEAD or full commit hash, in git's ref-name rules (check-ref-format), not starting with -";

/**
 * --ref checked against git's ref-name rules, and never starting with `-` (git would read an option);
 * returns the ref or the error, never throws.
 */
export function checkRef(raw: string): string | Expected {
  const ref = raw.trim();
  if (ref === 'HEAD' || fullHash.test(ref)) return ref;
  const bad =
    ref === '' ||
    ref === '@' ||
    ref.startsWith('-') ||
    ref.startsWith('/') ||
    ref.endsWith('/') ||
    ref.endsWith('.') ||
    Buffer.byteLength(ref) > 1024 ||
    /[\p{Cc}\s~^:?*[\\]|\.\.|@\{|\/\//u.test(ref) ||
    ref.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'));
  return bad ? new Expected(refExpectation) : ref;
}

/** The --ref option's parser: the ref, or throws `Expected`. */
export function parseRef(raw: string): string {
  const checked = checkRef(raw);
  if (checked instanceof Expected) throw checked;
  return checked;
}

export type RefTarget = { kind: 'commit'; hash: string } | { kind: 'name'; ref: string };

const fullHash = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;
const abbreviatedHash = /^[0-9a-f]{7,39}$/i;

export function refTarget(ref: string): RefTarget {
  const text = ref.trim();
  return fullHash.test(text) ? { kind: 'commit', hash: text.toLowerCase() } : { kind: 'name', ref: text };
}

/** The full ref names --ref may mean, most preferred first (git's own order: a tag before a branch). */
export function candidateRefs(ref: string): string[] {
  if (ref === 'HEAD' || ref.startsWith('refs/')) return [ref];
  return [`refs/tags/${ref}`, `refs/heads/${ref}`];
}

/** Patterns for `git ls-remote`: each candidate and, for annotated tags, the commit it points at. */
export function lsRemotePatterns(ref: string): string[] {
  return candidateRefs(ref).flatMap((name) => (name === 'HEAD' ? [name] : [name, `${name}^{}`]));
}

export interface RemoteRef {
  /** The commit (annotated tags already peeled). */
  hash: string;
  /** The full name to fetch, e.g. refs/heads/main. */
  name: string;
  /** Other full names --ref also matched (a tag and a branch of the same name). */
  shadowed: string[];
}

export function pickRemoteRef(ref: string, lsRemoteOutput: string): RemoteRef | undefined {
  const hashes = new Map<string, string>();
  for (const line of lsRemoteOutput.split('\n')) {
    const [hash, name] = line.trim().split('\t');
    if (hash && name) hashes.set(name, hash.toLowerCase());
  }
  const found = candidateRefs(ref).filter((name) => hashes.has(name));
  const [best, ...shadowed] = found;
  if (!best) return undefined;
  const hash = hashes.get(`${best}^{}`) ?? (hashes.get(best) as string);
  return { hash, name: best, shadowed };
}

/** Why --ref was not found, with the hint a user needs when it looks like a short hash. */
export function missingRefMessage(ref: string, remote: string): string {
  const hint = abbreviatedHash.test(ref)
    ? ' (an abbreviated commit hash cannot be fetched: give the full 40-character hash)'
    : '';
  return `ref ${JSON.stringify(ref)} does not exist on ${remote}${hint}; the last good revision stays live`;
}
