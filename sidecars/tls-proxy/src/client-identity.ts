/**
 * The verified client identity of an mTLS connection: worked out once per connection from the peer
 * certificate, matched against the typed --allow-subject rules (`cn:`, `dns:`, `uri:`, `email:`, `ip:`,
 * as ghostunnel's --allow-cn/--allow-dns/--allow-uri: a name only ever matches the field it names), and
 * passed upstream as an Envoy X-Forwarded-Client-Cert value with every certificate value quoted.
 */

import { isIP } from 'node:net';

export interface PeerCertificateLike {
  subject?: Record<string, string | string[] | undefined>;
  subjectaltname?: string;
  fingerprint256?: string;
}

export interface ClientIdentity {
  /** The subject DN, most specific last as OpenSSL prints it: `O=..., CN=...`. */
  subject: string;
  commonNames: string[];
  /** SAN entries as `[type, value]`, type DNS | URI | IP | email. */
  sans: [string, string][];
  /** SHA-256 of the certificate, lowercase hex without colons (Envoy's XFCC `Hash`). */
  hash: string;
  /** The value sent upstream in X-Forwarded-Client-Cert. */
  header: string;
}

const sanTypes: Record<string, string> = { DNS: 'DNS', URI: 'URI', 'IP Address': 'IP', email: 'email' };

/** `by`: the proxy's own URI SAN (Envoy's XFCC `By`), when its certificate has one. */
export function clientIdentity(cert: PeerCertificateLike, by?: string): ClientIdentity {
  const subjectEntries = Object.entries(cert.subject ?? {}).flatMap(([key, value]) =>
    value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v) => [key, v] as const),
  );
  const subject = subjectEntries.map(([key, value]) => `${key}=${escapeDn(value)}`).join(',');
  const commonNames = subjectEntries.filter(([key]) => key === 'CN').map(([, value]) => value);
  const sans = parseSubjectAltName(cert.subjectaltname ?? '');
  const hash = (cert.fingerprint256 ?? '').replace(/:/g, '').toLowerCase();
  // Envoy's field order: By, Hash, Subject, URI, DNS. Hash is hex made here; every value taken from a
  // certificate is quoted, so no `;`, `,` or `=` in it can start a field of its own.
  const parts = [
    ...(by === undefined ? [] : [`By=${quote(by)}`]),
    `Hash=${hash}`,
    `Subject=${quote(subject)}`,
  ];
  for (const [type, value] of sans) if (type === 'URI') parts.push(`URI=${quote(value)}`);
  for (const [type, value] of sans) if (type === 'DNS') parts.push(`DNS=${quote(value)}`);
  return { subject, commonNames, sans, hash, header: parts.join(';') };
}

/** Node prints SANs as `DNS:a, URI:b, IP Address:c`; values with special characters come JSON-quoted. */
export function parseSubjectAltName(text: string): [string, string][] {
  const entries: [string, string][] = [];
  const pattern =
    /(DNS|URI|IP Address|email|DirName|Registered ID|othername):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const match of text.matchAll(pattern)) {
    const type = sanTypes[match[1] as string];
    if (!type) continue;
    const raw = match[2] as string;
    entries.push([type, raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
  }
  return entries;
}

/** Letters, digits, `-`, `.`, `_` and a wildcard `*`: what a DNS name in a certificate may hold. */
const hostnameCharacters = /^[A-Za-z0-9._*-]+$/;

/** The first DNS SAN with characters outside the hostname set (a certificate such a name is refused). */
export function oddDnsName(identity: ClientIdentity): string | undefined {
  for (const [type, value] of identity.sans) {
    if (type === 'DNS' && !hostnameCharacters.test(value)) return value;
  }
  return undefined;
}

export const allowSubjectTypes = ['cn', 'dns', 'uri', 'email', 'ip'] as const;
type AllowSubjectType = (typeof allowSubjectTypes)[number];

/**
 * Typed --allow-subject entries to the keys isAllowed looks up (`dns:name`, ...). DNS names and email
 * addresses compare case-insensitively, IP addresses in their canonical form. Throws on an entry without
 * a known type: an untyped name used to match the CN or any SAN, so a CN spelled like a SPIFFE URI passed.
 */
export function allowSubjectKeys(entries: readonly string[]): string[] {
  return entries.map((entry) => {
    const colon = entry.indexOf(':');
    const type = entry.slice(0, colon).toLowerCase() as AllowSubjectType;
    const value = entry.slice(colon + 1);
    if (colon < 0 || !allowSubjectTypes.includes(type)) {
      throw new Error(
        `"${entry}" needs a type: cn:, dns:, uri:, email: or ip: (e.g. cn:${entry}), so a name only matches the certificate field it names`,
      );
    }
    if (value === '') throw new Error(`"${entry}" has no name after the type`);
    if (type === 'ip' && isIP(value) === 0) throw new Error(`"${entry}" is not an IP address`);
    return subjectKey(type, value);
  });
}

/** An empty allow-list admits every verified client; otherwise a typed key must match. */
export function isAllowed(identity: ClientIdentity, allowed: ReadonlySet<string>): boolean {
  if (allowed.size === 0) return true;
  for (const name of identity.commonNames) if (allowed.has(subjectKey('cn', name))) return true;
  for (const [type, value] of identity.sans) {
    const key = subjectKey(type.toLowerCase() as AllowSubjectType, value);
    if (allowed.has(key)) return true;
  }
  return false;
}

function subjectKey(type: AllowSubjectType, value: string): string {
  switch (type) {
    case 'dns':
    case 'email':
      return `${type}:${value.toLowerCase()}`;
    case 'ip':
      return `ip:${canonicalIp(value)}`;
    default:
      return `${type}:${value}`;
  }
}

/** node prints IPv6 SANs expanded and upper-case (`2001:DB8:0:0:0:0:0:1`): compare the URL form. */
function canonicalIp(address: string): string {
  if (isIP(address) !== 6) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

function escapeDn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}
