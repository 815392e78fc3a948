/**
 * A keep-alive pool to one upstream (undici's Pool), created with the first request. An idle proxy,
 * and tls-proxy in l4 mode, which never dispatches, does not carry undici's code. The first request
 * waits for it once.
 */

import type { Dispatcher, Pool } from 'undici';

/** What the exchanges need of a pool. */
export interface Dispatch {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
}

export interface UpstreamPoolEvents {
  /** Called when the pool cannot be loaded; the requests waiting for it fail, the next one tries again. */
  onLoadFailed(err: Error): void;
  /** Where the Pool class comes from (tests give another). */
  load?: () => Promise<{ Pool: typeof Pool }>;
}

export class UpstreamPool implements Dispatch {
  #pool: Pool | undefined;
  #loading: Promise<Pool> | undefined;
  #closing: Promise<void> | undefined;
  readonly #load: () => Promise<{ Pool: typeof Pool }>;

  constructor(
    readonly origin: string,
    readonly options: Pool.Options,
    readonly events: UpstreamPoolEvents,
  ) {
    this.#load = events.load ?? (() => import('./undici-pool.js'));
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#pool) return this.#pool.dispatch(options, handler);
    this.#loaded().then(
      (pool) => pool.dispatch(options, handler),
      // As undici reports a request that fails before it starts: there is no controller yet.
      (err: Error) => handler.onResponseError?.(undefined as never, err),
    );
    return true;
  }

  /** Closes the pool once the requests it has finish; nothing to do if none ever came. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const pool = this.#pool ?? (await this.#loading?.catch(() => undefined));
      await pool?.close();
    })();
    return this.#closing;
  }

  #loaded(): Promise<Pool> {
    this.#loading ??= this.#load()
      .then(({ Pool }) => {
        this.#pool = new Pool(this.origin, this.options);
        return this.#pool;
      })
      .catch((err: Error) => {
        this.#loading = undefined;
        this.events.onLoadFailed(err);
        throw err;
      });
    return this.#loading;
  }
}
