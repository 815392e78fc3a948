/**
 * The running experiment: one immutable `Live` value (router, mirror, comparison) that each request
 * reads once, replaced whole on SIGHUP, so a request never sees half of a new configuration. Upstream
 * pools outlive reloads when their URL stays (a weight change opens no connection); a version removed
 * or moved to another URL has its pool closed once its requests finish.
 */

import type { Logger } from 'pino';
import type { Health } from '../../../lib/health.js';
import { probeUpstream, type UpstreamProbe } from '../../../lib/http-proxy/upstream-probe.js';
import type { Upstream, Upstreams } from '../../../lib/http-proxy/upstreams.js';
import { Comparison } from './compare.js';
import { CompareBoard } from './compare-board.js';
import type { SplitMetrics } from './metrics.js';
import { Mirror } from './mirror.js';
import { formatSticky } from './parse.js';
import { Router, type Target } from './router.js';
import { endpointOf, type Settings } from './settings.js';
import { counted, type StatsRing } from './stats.js';

export interface Live {
  readonly settings: Settings;
  readonly router: Router;
  readonly mirror: Mirror | undefined;
  readonly comparison: Comparison | undefined;
}

export interface SplitOptions {
  upstreams: Upstreams;
  metrics: SplitMetrics;
  stats: StatsRing;
  health: Health;
  log: Logger;
  /** Lower-cased; empty: off. */
  overrideHeader: string;
  /** Empty: no header. */
  variantHeader: string;
  upstreamTimeoutMs: number;
  upstreamConnections: number;
  /** Bound on the wait for a free connection to the primary or a variant; 0: none. */
  poolWaitTimeoutMs: number;
}

export class Split {
  #live!: Live;
  readonly #origins = new Map<string, string>();
  readonly #mirrors = new Set<Mirror>();
  #probe: { origin: string; probe: UpstreamProbe } | undefined;
  readonly board: CompareBoard;

  constructor(readonly options: SplitOptions) {
    this.board = new CompareBoard(options.metrics, options.log);
  }

  get live(): Live {
    return this.#live;
  }

  /** Puts `settings` in force: new requests use them at once, requests in flight finish as they began. */
  apply(settings: Settings): void {
    const { metrics } = this.options;
    const previous = this.#live?.settings;
    const target = (name: string, url: URL): Target => ({
      name,
      upstream: this.#upstream(name, url),
      responseHeaders: this.options.variantHeader === '' ? [] : [this.options.variantHeader, name],
    });
    const primary = target('primary', settings.primary);
    const variants = settings.variants.map((v) => ({ weight: v.weight, target: target(v.name, v.url) }));
    const router = new Router({
      primary,
      variants,
      sticky: settings.sticky,
      overrideHeader: this.options.overrideHeader,
    });
    if (router.layout.kind === 'end-to-end')
      this.options.log.warn(
        { variants: settings.variants.map((v) => `${v.name}:${v.weight}`) },
        'variant weights do not fit their lanes: laid end to end, so a weight change may move users between variants',
      );
    const mirror = this.#mirror(settings);
    this.#live = {
      settings,
      router,
      mirror,
      comparison: settings.compare && new Comparison(settings.compare),
    };

    const kept = new Set(['primary', ...settings.variants.map((v) => v.name), ...(mirror ? ['mirror'] : [])]);
    for (const name of [...this.#origins.keys()].filter((name) => !kept.has(name))) {
      this.#origins.delete(name);
      void this.options.upstreams.delete(name);
      if (name !== 'mirror') metrics.removeVersion(name);
    }
    metrics.weight.set({ variant: 'primary' }, 100 - settings.variants.reduce((sum, v) => sum + v.weight, 0));
    for (const variant of settings.variants) metrics.weight.set({ variant: variant.name }, variant.weight);
    this.#watchPrimary(settings.primary);
    if (previous) this.options.log.info(describe(settings), 'experiment changed');
    else this.options.log.info(describe(settings), 'experiment');
  }

  /** Resolves once every mirror copy has been answered or has run out of time. */
  async mirrorsIdle(): Promise<void> {
    await Promise.all([...this.#mirrors].map((mirror) => mirror.idle()));
  }

  close(): void {
    this.#probe?.probe.close();
  }

  #upstream(name: string, url: URL): Upstream {
    const { origin } = endpointOf(url);
    const { upstreams, stats, metrics } = this.options;
    const known = upstreams.get(name);
    if (known && this.#origins.get(name) === origin) return known;
    if (known) void upstreams.delete(name);
    this.#origins.set(name, origin);
    const handles = name === 'mirror' ? metrics.mirror : metrics.version(name);
    return upstreams.add({
      name,
      origin,
      connections: this.options.upstreamConnections,
      // The mirror's deadline is its own (--mirror-timeout); its pool's timeouts are no shorter.
      timeoutMs: this.options.upstreamTimeoutMs,
      metrics: counted(handles, stats.track(name)),
      onRefused: name === 'primary' ? () => this.#probe?.probe.recheck() : () => {},
      // The mirror's copies are bounded by --mirror-max-inflight and never wait for a client.
      ...(name !== 'mirror' && this.options.poolWaitTimeoutMs > 0
        ? {
            poolWait: {
              timeoutMs: this.options.poolWaitTimeoutMs,
              onTimeout: () => metrics.poolWaitRejected.inc(),
            },
          }
        : {}),
    });
  }

  #mirror(settings: Settings): Mirror | undefined {
    const wanted = settings.mirror;
    const current = this.#live?.mirror;
    if (wanted === undefined) return undefined;
    const upstream = this.#upstream('mirror', wanted.url);
    const mirrorSettings = {
      percent: wanted.percent,
      maxBodyBytes: wanted.maxBodyBytes,
      maxInflight: wanted.maxInflight,
      timeoutMs: wanted.timeoutMs,
    };
    if (current && current.upstream === upstream) {
      current.settings = mirrorSettings;
      return current;
    }
    const mirror = new Mirror(upstream, mirrorSettings, this.options.metrics);
    this.#mirrors.add(mirror);
    return mirror;
  }

  #watchPrimary(url: URL): void {
    const endpoint = endpointOf(url);
    if (this.#probe?.origin === endpoint.origin) return;
    this.#probe?.probe.close();
    this.#probe = {
      origin: endpoint.origin,
      probe: probeUpstream(endpoint, this.options.health, this.options.log, { condition: 'primary' }),
    };
  }
}

function describe(settings: Settings) {
  return {
    primary: settings.primary.origin,
    variants: settings.variants.map((v) => ({ name: v.name, url: v.url.origin, weight: v.weight })),
    sticky: formatSticky(settings.sticky),
    mirror: settings.mirror && { url: settings.mirror.url.origin, percent: settings.mirror.percent },
    compare: settings.compare !== undefined,
  };
}
