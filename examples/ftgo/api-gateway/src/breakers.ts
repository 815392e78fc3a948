/**
 * A circuit breaker per service (opossum): after enough calls fail (no answer, a timeout or a 5xx) the
 * gateway stops calling that service for `BREAKER_RESET_MS`, answering at once instead of piling up
 * requests on it; then one trial call decides whether the breaker closes again. The state of each is a
 * gauge in /metrics.
 */

import CircuitBreaker from 'opossum';
import { Gauge, type Registry } from 'prom-client';
import { integer } from '../../common/src/config.js';
import { type Downstream, downstreamNames } from './downstreams.js';

export interface BreakerSettings {
  /** How long an open breaker waits before its trial call. */
  readonly resetMs: number;
  /** Failed share of recent calls that opens it, in percent. */
  readonly errorPercent: number;
  /** Calls in the rolling window before it may open at all. */
  readonly volumeThreshold: number;
}

export function loadBreakerSettings(env: NodeJS.ProcessEnv = process.env): BreakerSettings {
  return {
    resetMs: integer(env, 'BREAKER_RESET_MS', 10_000, 1),
    errorPercent: integer(env, 'BREAKER_ERROR_PERCENT', 50, 1),
    volumeThreshold: integer(env, 'BREAKER_VOLUME_THRESHOLD', 5, 1),
  };
}

/** A service answered 5xx: a failure for its breaker, passed on as it is to the client. */
export class ServerError extends Error {
  constructor(readonly answer: { status: number; body: unknown }) {
    super(`answered ${answer.status}`);
  }
}

type Call<A extends unknown[], R> = (...args: A) => Promise<R>;

export function breakers<A extends unknown[], R>(
  call: (name: Downstream, ...args: A) => Promise<R>,
  settings: BreakerSettings,
  registry: Registry,
): Record<Downstream, Call<A, R>> {
  const state = new Gauge({
    name: 'ftgo_gateway_breaker_state',
    help: 'Circuit breaker per downstream service: 0 closed, 1 half-open (one trial call), 2 open (not called).',
    labelNames: ['downstream'],
    registers: [registry],
  });
  const result = {} as Record<Downstream, Call<A, R>>;
  for (const name of downstreamNames) {
    const breaker = new CircuitBreaker((...args: A) => call(name, ...args), {
      // The call has its own timeouts (undici's); the breaker only counts.
      timeout: false,
      resetTimeout: settings.resetMs,
      errorThresholdPercentage: settings.errorPercent,
      volumeThreshold: settings.volumeThreshold,
    });
    state.set({ downstream: name }, 0);
    breaker.on('close', () => state.set({ downstream: name }, 0));
    breaker.on('halfOpen', () => state.set({ downstream: name }, 1));
    breaker.on('open', () => state.set({ downstream: name }, 2));
    result[name] = (...args: A) => breaker.fire(...args) as Promise<R>;
  }
  return result;
}
