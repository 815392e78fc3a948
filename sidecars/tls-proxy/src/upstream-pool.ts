/**
 * The keep-alive pool to the upstream (undici's Pool), created with the first request. An idle proxy,
 * and one in l4 mode, which never dispatches, does not carry undici's code (about 0.7 MB of tls-proxy's
 * idle RSS, with the llhttp parser it compiles). The first request waits for it once.
 */

import type { Dispatcher, Pool } from 'undici';

/** What the exchanges need of a pool. */
export interface Dispatch {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
}

export interface UpstreamPoolOptions {
  /** Called when the pool cannot be loaded; the requests waiting for it fail, the next one tries again. */
  onLoadFailed(err: Error): void;
  /** Where the Pool class comes from (tests give another). */
  load?: () => Promise<{ Pool: typeof Pool }>;
}

export class UpstreamPool implements Dispatch {
  #pool: Pool | undefined;
  #loading: Promise<Pool> | undefined;
  readonly #load: () => Promise<{ Pool: typeof Pool }>;

  constructor(
    readonly origin: string,
    readonly options: Pool.Options,
    readonly events: UpstreamPoolOptions,
  ) {
    this.#load = events.load ?? (() => import('./undici-pool-class.js'));
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#pool) return this.#pool.dispatch(options, handler);
    this.#loaded().then(
      (pool) => pool.dispatch(options, handler),
      (err: Error) => handler.onError?.(err),
    );
    return true;
  }

  /** Closes the pool once the requests it has finish; nothing to do if none ever came. */
  async close(): Promise<void> {
    const pool = this.#pool ?? (await this.#loading?.catch(() => undefined));
    await pool?.close();
  }

  #loaded(): Promise<Pool> {
    this.#loading ??= this.#load().then(
      ({ Pool }) => {
        this.#pool = new Pool(this.origin, this.options);
        return this.#pool;
      },
      (err: Error) => {
        this.#loading = undefined;
        this.events.onLoadFailed(err);
        throw err;
      },
    );
    return this.#loading;
  }
}
