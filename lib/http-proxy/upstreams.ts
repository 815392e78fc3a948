/**
 * The upstreams a proxy sends to, by name: tls-proxy has one; a traffic split has a primary, its
 * variants and a mirror. Each has its own keep-alive pool, its own metric handles and its own readiness
 * hook, and all are closed together at the end of a drain.
 */

import type { Pool } from 'undici';
import type { UpstreamMetrics } from './metrics.js';
import { PoolSlots } from './pool-slots.js';
import { type Dispatch, UpstreamPool } from './upstream-pool.js';

export interface UpstreamSpec {
  /** How the component names it (`upstream`; `primary`, a variant, `mirror`): unique in the set. */
  name: string;
  /** `http://host:port`. */
  origin: string;
  /** Keep-alive connections the pool may open. */
  connections: number;
  /** Connecting, waiting for the response head, and waiting between body chunks: each at most this. */
  timeoutMs: number;
  metrics: UpstreamMetrics;
  /** Called when the upstream refused a connection, so readiness can react at once. */
  onRefused(): void;
  /**
   * Bound the wait for a free connection: an exchange that gets none within `timeoutMs` is answered
   * 503 and `onTimeout` is called. Without it, requests queue in the pool until the upstream timeout.
   */
  poolWait?: { timeoutMs: number; onTimeout(): void };
}

/** One upstream as the exchanges see it. */
export interface Upstream {
  readonly name: string;
  readonly pool: Dispatch;
  readonly metrics: UpstreamMetrics;
  readonly timeoutMs: number;
  onRefused(): void;
  /** With `poolWait`: the slots exchanges take before they are dispatched. */
  readonly slots?: PoolSlots;
  onPoolWaitTimeout?(): void;
}

export interface UpstreamsEvents {
  /** undici could not be loaded for this upstream's pool (its waiting requests got 502). */
  onLoadFailed(upstream: string, err: Error): void;
  /** Where the Pool class comes from (tests give another). */
  load?: () => Promise<{ Pool: typeof Pool }>;
}

export class Upstreams {
  readonly #byName = new Map<string, Upstream & { pool: UpstreamPool }>();
  readonly #closing = new Set<UpstreamPool>();

  constructor(readonly events: UpstreamsEvents) {}

  add(spec: UpstreamSpec): Upstream {
    if (this.#byName.has(spec.name)) throw new Error(`upstream "${spec.name}" is already defined`);
    const pool = new UpstreamPool(
      spec.origin,
      {
        connections: spec.connections,
        pipelining: 1,
        connect: { timeout: spec.timeoutMs },
        headersTimeout: spec.timeoutMs,
        bodyTimeout: spec.timeoutMs,
        maxHeaderSize: 64 * 1024,
      },
      {
        onLoadFailed: (err) => this.events.onLoadFailed(spec.name, err),
        ...(this.events.load ? { load: this.events.load } : {}),
      },
    );
    const upstream = {
      name: spec.name,
      pool,
      metrics: spec.metrics,
      timeoutMs: spec.timeoutMs,
      onRefused: spec.onRefused,
      ...(spec.poolWait
        ? {
            slots: new PoolSlots(spec.connections, spec.poolWait.timeoutMs),
            onPoolWaitTimeout: spec.poolWait.onTimeout,
          }
        : {}),
    };
    this.#byName.set(spec.name, upstream);
    return upstream;
  }

  get(name: string): Upstream | undefined {
    return this.#byName.get(name);
  }

  /**
   * Forgets an upstream (a variant removed by a reload) and closes its pool once the requests it has
   * finish; exchanges that hold it still complete. The name can be added again at once.
   */
  delete(name: string): Promise<void> {
    const upstream = this.#byName.get(name);
    if (!upstream) return Promise.resolve();
    this.#byName.delete(name);
    this.#closing.add(upstream.pool);
    return upstream.pool.close().finally(() => this.#closing.delete(upstream.pool));
  }

  /** Closes every pool once the requests it has finish, those of deleted upstreams still closing too. */
  async close(): Promise<void> {
    await Promise.all(
      [...[...this.#byName.values()].map(({ pool }) => pool), ...this.#closing].map((pool) => pool.close()),
    );
  }
}
