/**
 * The HTTP/2 rapid-reset defence (CVE-2023-44487): a client that opens streams and resets them at once
 * makes the proxy start upstream requests it never gets to finish. Streams a client resets are counted
 * per connection in one-second windows; past the limit the connection is closed with GOAWAY
 * ENHANCE_YOUR_CALM.
 */

import type { Http2ServerRequest, Http2Session } from 'node:http2';

const kResets = Symbol('podkit.tls-proxy.h2-resets');
/** NGHTTP2_ENHANCE_YOUR_CALM */
const enhanceYourCalm = 0x0b;

type Counted = Http2Session & { [kResets]?: { windowStart: number; count: number } };

export class ResetGuard {
  constructor(
    readonly maxPerSecond: number,
    readonly onTripped: () => void,
  ) {}

  /** Watches one request's stream for a reset by the client. */
  watch(req: Http2ServerRequest): void {
    req.once('aborted', () => this.#reset(req.stream.session));
  }

  #reset(session: Http2Session | undefined): void {
    if (session === undefined || session.destroyed || session.closed) return;
    const now = performance.now();
    const counted = session as Counted;
    let window = counted[kResets];
    if (window === undefined || now - window.windowStart >= 1000) {
      window = { windowStart: now, count: 0 };
      counted[kResets] = window;
    }
    if (++window.count <= this.maxPerSecond) return;
    this.onTripped();
    // GOAWAY first, so the client learns why; the streams it left open end as they would.
    session.goaway(enhanceYourCalm);
    session.close();
  }
}
