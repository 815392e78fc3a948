/**
 * Header rewriting between client and upstream, on flat `[name, value, name, value]` arrays (the shape
 * Node and undici both use natively, so no header objects are built per request).
 *
 * To the upstream: hop-by-hop headers (and those the client's Connection header names) are dropped;
 * X-Forwarded-For and Forwarded are appended to (the upstream reads the right-most entry, which this
 * proxy wrote), or replaced at an edge; X-Forwarded-Proto, X-Forwarded-Host and X-Real-IP are replaced;
 * X-Forwarded-Client-Cert is dropped whatever the client sent and set only from a client certificate
 * the caller verified. Names with an underscore are dropped by default: CGI-style servers read
 * `X_Forwarded_Client_Cert` as `X-Forwarded-Client-Cert` (Envoy's headers_with_underscores_action).
 */

/** RFC 9110 §7.6.1 connection-specific fields, plus fields HTTP/2 forbids and undici refuses. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'expect',
  'host',
]);

/** Replaced, never passed from the client. */
const replaced = new Set(['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-client-cert', 'x-real-ip']);

/** What happens to a request header whose name contains `_`: reject answers 400. */
export type UnderscoreAction = 'allow' | 'drop' | 'reject';

/** How X-Forwarded-For and Forwarded are written: after the client's entries, or instead of them. */
export type ForwardedForMode = 'append' | 'replace';

export interface ForwardInfo {
  /** The client's address as seen on the socket. */
  clientAddress: string;
  /** The scheme the client used: `https` behind TLS termination, `http` on a plain listener. */
  proto: 'http' | 'https';
  /** X-Forwarded-Client-Cert value from a verified client certificate (mTLS), if any. */
  clientCert: string | undefined;
  /**
   * Leave the client's Host out, so the upstream gets its own (undici writes the pool origin's): for a
   * proxy to other services, which route by name. The client's is still in X-Forwarded-Host.
   */
  hostFromOrigin?: boolean;
  /** Request headers named with `_`; default `drop`. */
  underscores?: UnderscoreAction;
  /** Default `append`; `replace` at an edge, where nothing the client says about itself is kept. */
  forwardedFor?: ForwardedForMode;
}

export interface UpstreamRequestHead {
  /** The flat array undici's `dispatch` takes. */
  headers: string[];
  /** Host (HTTP/1.1) or :authority (HTTP/2). */
  host: string | undefined;
  /** A non-zero Content-Length or a Transfer-Encoding was sent (HTTP/1.1 framing). */
  declaresBody: boolean;
  hasAuthorization: boolean;
  /** With `underscores: 'reject'`: the first header named with `_` (the request must get 400). */
  underscoreHeader?: string;
  /** Header fields the client sent, HTTP/2 pseudo-headers not counted. */
  fieldCount: number;
  /** The client's Content-Length as sent, if any. */
  contentLength: string | undefined;
}

/** Request headers for the upstream, found in one pass over the client's raw headers. */
export function upstreamRequestHead(raw: readonly string[], info: ForwardInfo): UpstreamRequestHead {
  const out: string[] = [];
  let connectionTokens: string[] | undefined;
  let forwardedFor: string | undefined;
  let forwarded: string | undefined;
  let host: string | undefined;
  let declaresBody = false;
  let hasAuthorization = false;
  let underscoreHeader: string | undefined;
  let contentLength: string | undefined;
  let pseudo = 0;
  const underscores = info.underscores ?? 'drop';
  const replaceForwarded = info.forwardedFor === 'replace';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 58 /* ':' HTTP/2 pseudo-header */) {
      pseudo++;
      if (name === ':authority') host = value;
      continue;
    }
    if (underscores !== 'allow' && name.indexOf('_') !== -1) {
      underscoreHeader ??= name;
      continue;
    }
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
        host ??= value;
        continue;
      case 'connection':
        connectionTokens = value.toLowerCase().split(/\s*,\s*/);
        continue;
      case 'content-length':
        contentLength = value;
        if (value !== '0') declaresBody = true;
        break;
      case 'transfer-encoding':
        declaresBody = true;
        continue;
      case 'authorization':
        hasAuthorization = true;
        break;
      case 'x-forwarded-for':
        if (!replaceForwarded)
          forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case 'forwarded':
        if (!replaceForwarded) forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
        continue;
    }
    if (hopByHop.has(lower) || replaced.has(lower)) continue;
    out.push(name, value);
  }
  if (connectionTokens) removeNamed(out, connectionTokens);

  const client = info.clientAddress;
  if (host !== undefined && info.hostFromOrigin !== true) out.push('host', host);
  out.push('x-forwarded-for', forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  out.push('x-real-ip', client);
  out.push('x-forwarded-proto', info.proto);
  if (host !== undefined) out.push('x-forwarded-host', host);
  const element = `for=${forwardedNode(client)};proto=${info.proto}${host === undefined ? '' : `;host=${quoteIfNeeded(host)}`}`;
  out.push('forwarded', forwarded === undefined ? element : `${forwarded}, ${element}`);
  if (info.clientCert !== undefined) out.push('x-forwarded-client-cert', info.clientCert);
  const head: UpstreamRequestHead = {
    headers: out,
    host,
    declaresBody,
    hasAuthorization,
    fieldCount: (raw.length >> 1) - pseudo,
    contentLength,
  };
  if (underscores === 'reject' && underscoreHeader !== undefined) head.underscoreHeader = underscoreHeader;
  return head;
}

/** Response headers from the upstream (undici's raw Buffers) for the client, hop-by-hop fields dropped. */
export function clientResponseHeaders(raw: readonly Buffer[], extra: readonly string[]): string[] {
  const out: string[] = [];
  let connectionTokens: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1');
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      connectionTokens = (raw[i + 1] as Buffer)
        .toString('latin1')
        .toLowerCase()
        .split(/\s*,\s*/);
      continue;
    }
    if (hopByHop.has(lower) && lower !== 'host') continue;
    out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
  }
  if (connectionTokens) removeNamed(out, connectionTokens);
  for (let i = 0; i < extra.length; i++) out.push(extra[i] as string);
  return out;
}

/** Removes the fields a Connection header names (they are hop-by-hop by declaration). */
function removeNamed(headers: string[], names: readonly string[]): void {
  const doomed = new Set(names.filter((name) => name !== '' && name !== 'close' && name !== 'keep-alive'));
  if (doomed.size === 0) return;
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (doomed.has((headers[i] as string).toLowerCase())) headers.splice(i, 2);
  }
}

/** RFC 7239 node: IPv6 addresses are bracketed and quoted. */
function forwardedNode(address: string): string {
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return plain.includes(':') ? `"[${plain}]"` : plain;
}

function quoteIfNeeded(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

/** The client address as written in X-Forwarded-For: IPv4-mapped IPv6 shown as plain IPv4. */
export function clientAddressOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.')
    ? remoteAddress.slice(7)
    : remoteAddress;
}
