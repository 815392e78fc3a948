/**
 * Shadow traffic: a copy of a request (method, path, headers, body) sent to the mirror and forgotten.
 * The primary reads the client's body as it arrives while a copy is kept up to --mirror-max-body; the
 * copy leaves once the body is complete, on the mirror's own pool with its own deadline. Nothing the
 * mirror does reaches the client: a body over the limit, --mirror-max-inflight copies in flight, or a
 * mirror that is slow or down only costs the copy, and each is counted. A mirror that refuses
 * connections is left alone for a while (backing off up to 5 s), so a down mirror does not cost a
 * connection attempt per request.
 */

import type { Readable } from 'node:stream';
import type { Counter, Gauge } from 'prom-client';
import { Backoff } from '../../../lib/backoff.js';
import { teeBody } from '../../../lib/http-proxy/body-tee.js';
import { type DetachedResult, sendDetached } from '../../../lib/http-proxy/detached-request.js';
import type { Upstream } from '../../../lib/http-proxy/upstreams.js';
import type { DropReason } from './metrics.js';

export interface MirrorSettings {
  percent: number;
  maxBodyBytes: number;
  maxInflight: number;
  timeoutMs: number;
}

export interface MirrorMetrics {
  mirrorSent: Pick<Counter, 'inc'>;
  mirrorDropped: Counter<'reason'>;
  mirrorInflight: Pick<Gauge, 'set'>;
}

export interface CopyRequest {
  method: string;
  path: string;
  headers: string[];
  /** The client's body, or null when it has none. */
  body: Readable | null;
  /** Response body bytes kept for a comparison (0: none). */
  keepBodyBytes: number;
  /** Called once with the mirror's answer, or undefined when no copy was sent. */
  settled?(result: DetachedResult | undefined): void;
}

export class Mirror {
  #inflight = 0;
  /** Copies waiting for their request body. */
  #waiting = 0;
  #onIdle: (() => void) | undefined;
  /** While the mirror refuses connections: no copy is sent before this time. */
  #downUntil = 0;
  readonly #down = new Backoff({ initialMs: 250, maxMs: 5000 });

  constructor(
    readonly upstream: Upstream,
    /** Replaced by a reload that keeps the mirror's URL. */
    public settings: MirrorSettings,
    readonly metrics: MirrorMetrics,
  ) {}

  /** Whether this request is one of the --mirror-percent copied. */
  wants(): boolean {
    const percent = this.settings.percent;
    return percent >= 100 || (percent > 0 && Math.random() * 100 < percent);
  }

  /** Starts a copy of the request; returns the body the primary reads instead of the client's. */
  copy(request: CopyRequest): Readable | null {
    if (request.body === null) {
      this.#send(request, undefined);
      return null;
    }
    const tee = teeBody(request.body, this.settings.maxBodyBytes);
    this.#waiting++;
    tee.copy.then((copy) => {
      this.#waiting--;
      if (copy.ok) this.#send(request, copy.body);
      else this.#drop(copy.reason === 'too-large' ? 'too_large' : 'aborted', request);
      this.#checkIdle();
    });
    return tee.body;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Resolves once no copy is waiting for its body or for the mirror (each is bounded by its deadline). */
  idle(): Promise<void> {
    if (this.#inflight === 0 && this.#waiting === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#onIdle;
      this.#onIdle = () => {
        previous?.();
        resolve();
      };
    });
  }

  #send(request: CopyRequest, body: Buffer | undefined): void {
    if (this.#inflight >= this.settings.maxInflight) {
      this.#drop('overload', request);
      return;
    }
    if (this.#downUntil > 0 && performance.now() < this.#downUntil) {
      this.#drop('mirror_down', request);
      return;
    }
    this.#inflight++;
    this.metrics.mirrorInflight.set(this.#inflight);
    this.metrics.mirrorSent.inc();
    sendDetached(
      this.upstream,
      { method: request.method, path: request.path, headers: request.headers, body: body ?? null },
      { deadlineMs: this.settings.timeoutMs, keepBodyBytes: request.keepBodyBytes },
    ).then((result) => {
      this.#inflight--;
      this.metrics.mirrorInflight.set(this.#inflight);
      if (!result.ok && result.reason === 'connect') this.#downUntil = performance.now() + this.#down.next();
      else if (result.ok) {
        this.#downUntil = 0;
        this.#down.reset();
      }
      request.settled?.(result);
      this.#checkIdle();
    });
  }

  #drop(reason: DropReason, request: CopyRequest): void {
    this.metrics.mirrorDropped.inc({ reason });
    request.settled?.(undefined);
  }

  #checkIdle(): void {
    if (this.#inflight > 0 || this.#waiting > 0) return;
    const onIdle = this.#onIdle;
    this.#onIdle = undefined;
    onIdle?.();
  }
}
