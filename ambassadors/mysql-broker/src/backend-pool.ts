/**
 * The backends of one route and their health. Discovery sets the list (its order is the preference
 * order); every health interval each backend is checked (backend-check.ts), one check at a time per
 * backend. The primary is the first healthy backend in list order ("first healthy wins"); it changing
 * from one backend to another is a failover. A backend turning unhealthy is reported at once so its
 * open connections can be closed: they would fail anyway, and a client blocked on a frozen server is
 * worse off than one that reconnects.
 */

import { ErrorCode } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { HostPort } from '../../../lib/option-types.js';
import { type CheckOptions, type CheckResult, checkBackend } from './backend-check.js';

export interface BackendState {
  readonly address: HostPort;
  readonly key: string;
  /** Undefined until the first check has finished. */
  healthy: boolean | undefined;
  detail: string;
  serverVersion?: string;
}

export interface PoolEvents {
  /** A backend went from healthy (or unknown) to unhealthy. */
  onUnhealthy?(backend: BackendState): void;
  /** The primary changed; `from` undefined at start-up or after an outage. */
  onPrimaryChange?(from: BackendState | undefined, to: BackendState | undefined): void;
  /**
   * New connections now go to a different backend than the last primary, possibly after a spell with
   * none (the old primary died before the next one's first check finished).
   */
  onFailover?(from: string, to: string): void;
  /** The list of backends changed (discovery). */
  onMembership?(keys: string[]): void;
}

export interface PoolOptions extends CheckOptions {
  /** Which route, for logs: read-write or read-only. */
  role: string;
  intervalMs: number;
  log: Logger;
  /** Injected for unit tests; the real check otherwise. */
  check?: (address: HostPort, options: CheckOptions) => Promise<CheckResult>;
}

export class BackendPool {
  #order: BackendState[] = [];
  readonly #inFlight = new Set<string>();
  #primary: BackendState | undefined;
  /** The last backend that was primary, kept through outages: what a failover is counted from. */
  #lastPrimaryKey: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #discovered = false;

  constructor(
    private readonly options: PoolOptions,
    private readonly events: PoolEvents = {},
  ) {}

  /** Replaces the list; known backends keep their state, new ones are checked at once. */
  setBackends(addresses: readonly HostPort[]): void {
    const known = new Map(this.#order.map((state) => [state.key, state]));
    const next: BackendState[] = [];
    for (const address of addresses) {
      const key = address.toString();
      if (next.some((state) => state.key === key)) continue;
      next.push(known.get(key) ?? { address, key, healthy: undefined, detail: 'not checked yet' });
    }
    const changed = next.map((s) => s.key).join(',') !== this.#order.map((s) => s.key).join(',');
    this.#order = next;
    this.#discovered = true;
    if (changed) {
      this.options.log.info({ role: this.options.role, backends: next.map((s) => s.key) }, 'backends');
      this.events.onMembership?.(next.map((s) => s.key));
    }
    for (const state of next) if (state.healthy === undefined) void this.#check(state);
    this.#recompute();
  }

  start(): void {
    const tick = () => {
      for (const state of this.#order) void this.#check(state);
      if (!this.#stopped) this.#timer = setTimeout(tick, this.options.intervalMs);
    };
    this.#timer = setTimeout(tick, this.options.intervalMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  get backends(): readonly BackendState[] {
    return this.#order;
  }

  /** Whether discovery has delivered a list yet (an empty one counts). */
  get discovered(): boolean {
    return this.#discovered;
  }

  get primary(): BackendState | undefined {
    return this.#primary;
  }

  /** Healthy backends in preference order: where a new connection may go, in the order to try. */
  healthy(): BackendState[] {
    return this.#order.filter((state) => state.healthy === true);
  }

  /**
   * Where a new connection may go, in the order to try: the healthy backends, then those not checked
   * yet (an app that connects the moment the pod starts should not be refused while the first check
   * is still on its way).
   */
  candidates(): BackendState[] {
    return [...this.healthy(), ...this.#order.filter((state) => state.healthy === undefined)];
  }

  /** A connection attempt failed: the backend is unhealthy now, not at the next check. */
  markFailed(key: string, detail: string): void {
    const state = this.#order.find((s) => s.key === key);
    if (!state) return;
    this.#apply(state, { healthy: false, detail });
  }

  /** A one-line summary of why no backend is healthy, for ERR packets and /readyz. */
  describe(): string {
    if (this.#order.length === 0) return this.#discovered ? 'no backends discovered' : 'discovery pending';
    return this.#order.map((state) => `${state.key}: ${state.detail}`).join('; ');
  }

  async #check(state: BackendState): Promise<void> {
    if (this.#inFlight.has(state.key) || this.#stopped) return;
    this.#inFlight.add(state.key);
    try {
      const check = this.options.check ?? checkBackend;
      const result = await check(state.address, this.options);
      // The backend may have left the list while it was being checked.
      if (this.#order.includes(state) && !this.#stopped) this.#apply(state, result);
    } finally {
      this.#inFlight.delete(state.key);
    }
  }

  #apply(state: BackendState, result: CheckResult): void {
    const was = state.healthy;
    state.healthy = result.healthy;
    state.detail = result.detail;
    if (result.serverVersion) state.serverVersion = result.serverVersion;
    if (was !== result.healthy) {
      const log = this.options.log;
      const fields = { role: this.options.role, backend: state.key, detail: result.detail };
      if (result.healthy) log.info(fields, 'backend healthy');
      else log.warn({ ...fields, code: ErrorCode.BACKEND_UNAVAILABLE }, 'backend unhealthy');
      if (!result.healthy && was !== false) this.events.onUnhealthy?.(state);
    }
    this.#recompute();
  }

  #recompute(): void {
    const next = this.#order.find((state) => state.healthy === true);
    const previous = this.#primary;
    if (next === previous) return;
    this.#primary = next;
    this.options.log.info(
      { role: this.options.role, from: previous?.key ?? null, to: next?.key ?? null },
      next ? 'primary backend' : 'no healthy backend',
    );
    this.events.onPrimaryChange?.(previous, next);
    if (!next) return;
    // While a backend ahead of this one still awaits its first check, the choice is provisional (at
    // start-up the checks answer in any order): settling on the preferred one then is no failover.
    if (this.#order.slice(0, this.#order.indexOf(next)).some((state) => state.healthy === undefined)) return;
    const from = this.#lastPrimaryKey;
    this.#lastPrimaryKey = next.key;
    if (from !== undefined && from !== next.key) this.events.onFailover?.(from, next.key);
  }
}
