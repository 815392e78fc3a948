/**
 * The value parsers of traffic-split's own option kinds (`--variant name=URL:weight`, `--sticky`,
 * `--compare-ignore`): pure, so options.ts can use them and stay cheap to load.
 */

import { Expected } from '../../../lib/option-types.js';

/** Names the split uses itself: a variant cannot take them. */
export const reservedNames = ['primary', 'mirror'] as const;

const namePattern = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export interface VariantSpec {
  name: string;
  url: URL;
  /** Percent of the traffic, 0-100. */
  weight: number;
}

const variantShape = 'name=URL:weight, e.g. beta=http://app-beta:8080:10';

/** `beta=http://app-beta:8080:10`: the weight is what follows the last colon. */
export function parseVariant(raw: string): VariantSpec {
  const text = raw.trim();
  const equals = text.indexOf('=');
  const colon = text.lastIndexOf(':');
  if (equals <= 0 || colon < equals) throw new Expected(variantShape);
  const name = text.slice(0, equals).trim();
  if (!namePattern.test(name))
    throw new Expected(`${variantShape}, the name 1-32 of a-z, 0-9, "_" and "-" (got "${name}")`);
  if ((reservedNames as readonly string[]).includes(name))
    throw new Expected(`${variantShape}, with a name other than ${reservedNames.join(' or ')}`);
  const weight = parseWeight(text.slice(colon + 1));
  const url = parseOrigin(text.slice(equals + 1, colon), variantShape);
  return { name, url, weight };
}

function parseWeight(raw: string): number {
  const text = raw.trim();
  const weight = /^\d+(\.\d{1,2})?$/.test(text) ? Number(text) : Number.NaN;
  if (!(weight >= 0 && weight <= 100))
    throw new Expected(`${variantShape}, the weight a percentage from 0 to 100 (got "${text}")`);
  return weight;
}

/** `http://host[:port]` and nothing more: where a pool connects. */
export function parseOrigin(raw: string, shape = 'an http:// URL such as http://app:8080'): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Expected(`${shape} (the URL "${raw.trim()}" does not parse)`);
  }
  if (url.protocol !== 'http:')
    throw new Expected(`${shape} (the URL scheme "${url.protocol.slice(0, -1)}" is not http)`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash)
    throw new Expected(`${shape} (scheme://host:port only, without a path or query)`);
  if (url.username || url.password) throw new Expected(`${shape} (without credentials)`);
  return url;
}

export type Sticky =
  | { kind: 'cookie'; name: string }
  | { kind: 'header'; name: string }
  | { kind: 'ip' }
  | { kind: 'none' };

const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseSticky(raw: string): Sticky {
  const text = raw.trim();
  const expectation = 'cookie:NAME, header:NAME, ip or none';
  if (text === 'ip' || text === 'none') return { kind: text };
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const name = text.slice(colon + 1).trim();
  if (colon < 0 || (kind !== 'cookie' && kind !== 'header')) throw new Expected(expectation);
  if (!token.test(name)) throw new Expected(`${expectation}, NAME a valid ${kind} name`);
  return kind === 'cookie' ? { kind, name } : { kind, name: name.toLowerCase() };
}

export function formatSticky(sticky: Sticky): string {
  return sticky.kind === 'cookie' || sticky.kind === 'header' ? `${sticky.kind}:${sticky.name}` : sticky.kind;
}

/** `$.a.b[2].c`, `$.items[*].id`: a JSON path as compare diffs print them (`$` alone is the whole body). */
const jsonPathPattern = /^\$((\.[A-Za-z_$][\w$-]*)|(\[(\d+|\*)\])|(\["[^"]*"\]))*$/;

/** A header name, or a JSON path starting with `$`. */
export function parseIgnore(raw: string): string {
  const text = raw.trim();
  if (text.startsWith('$')) {
    if (!jsonPathPattern.test(text))
      throw new Expected('a header name or a JSON path such as $.timestamp, $.items[*].id or $.a["b c"]');
    return text;
  }
  if (!token.test(text)) throw new Expected('a header name or a JSON path such as $.timestamp');
  return text.toLowerCase();
}

/** A header name, lower-cased. */
export function parseHeaderName(raw: string): string {
  const text = raw.trim();
  if (!token.test(text)) throw new Expected('a header name');
  return text.toLowerCase();
}
