/**
 * Token buckets per client, in bounded memory. A bucket refills at `rate` tokens per second up to
 * `burst`; a request takes one token or is refused with how long until one is back. Buckets live in a
 * Map used as an LRU (re-inserted on use), so the table never holds more than `maxClients` entries: the
 * least recently seen client is forgotten first, which only ever errs on the side of letting it through.
 */

export interface BucketLimits {
  rate: number;
  burst: number;
}

export interface Decision {
  allowed: boolean;
  /** The bucket's size, for X-RateLimit-Limit. */
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until the bucket is full again (X-RateLimit-Reset). */
  resetSeconds: number;
  /** Seconds until the next request would be allowed (Retry-After); 0 when allowed. */
  retryAfterSeconds: number;
}

/**
 * Which bucket a request takes from: a verified mTLS identity has its own, at the authenticated rate
 * (a certificate cannot be made up); everything else, an Authorization header included, shares its
 * address's bucket, since a header is not verified here and a made-up one must not buy a second bucket.
 */
export function bucketOf(
  identityHash: string | undefined,
  clientAddress: string,
  limits: BucketLimits & { authenticatedRate: number; authenticatedBurst: number },
): { key: string; limits: BucketLimits } {
  if (identityHash) {
    return {
      key: `id:${identityHash}`,
      limits: { rate: limits.authenticatedRate, burst: limits.authenticatedBurst },
    };
  }
  return { key: clientAddress, limits };
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxClients: number;
  readonly #now: () => number;

  constructor(options: { maxClients?: number; now?: () => number } = {}) {
    this.#maxClients = options.maxClients ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#buckets.size;
  }

  take(key: string, limits: BucketLimits): Decision {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: limits.burst, updatedMs: now };
      if (this.#buckets.size >= this.#maxClients) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    } else {
      this.#buckets.delete(key);
      const elapsed = Math.max(0, now - bucket.updatedMs) / 1000;
      bucket.tokens = Math.min(limits.burst, bucket.tokens + elapsed * limits.rate);
      bucket.updatedMs = now;
    }
    this.#buckets.set(key, bucket);

    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    const missing = limits.burst - bucket.tokens;
    return {
      allowed,
      limit: limits.burst,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: Math.ceil(missing / limits.rate),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / limits.rate)),
    };
  }
}
