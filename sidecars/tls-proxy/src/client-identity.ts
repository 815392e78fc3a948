/**
 * The verified client identity of an mTLS connection: worked out once per connection from the peer
 * certificate, matched against --allow-subject (CN or any SAN, like ghostunnel's --allow-cn/--allow-dns/
 * --allow-uri), and passed upstream as an Envoy-style X-Forwarded-Client-Cert value.
 */

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

export function clientIdentity(cert: PeerCertificateLike): ClientIdentity {
  const subjectEntries = Object.entries(cert.subject ?? {}).flatMap(([key, value]) =>
    value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v) => [key, v] as const),
  );
  const subject = subjectEntries.map(([key, value]) => `${key}=${escapeDn(value)}`).join(',');
  const commonNames = subjectEntries.filter(([key]) => key === 'CN').map(([, value]) => value);
  const sans = parseSubjectAltName(cert.subjectaltname ?? '');
  const hash = (cert.fingerprint256 ?? '').replace(/:/g, '').toLowerCase();
  const parts = [`Hash=${hash}`, `Subject=${quote(subject)}`];
  // Envoy's field order: Hash, Subject, URI, DNS.
  for (const [type, value] of sans) if (type === 'URI') parts.push(`URI=${quoteIfNeeded(value)}`);
  for (const [type, value] of sans) if (type === 'DNS') parts.push(`DNS=${value}`);
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

/** An empty allow-list admits every verified client; otherwise the CN or a SAN value must be listed. */
export function isAllowed(identity: ClientIdentity, allowed: ReadonlySet<string>): boolean {
  if (allowed.size === 0) return true;
  for (const name of identity.commonNames) if (allowed.has(name)) return true;
  for (const [, value] of identity.sans) if (allowed.has(value)) return true;
  return false;
}

function escapeDn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

function quoteIfNeeded(value: string): string {
  return /[;,="]/.test(value) ? quote(value) : value;
}
