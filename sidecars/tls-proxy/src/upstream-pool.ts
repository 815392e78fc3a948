/**
 * The keep-alive pool to the upstream (undici's Pool), created with the first request. An idle proxy,
 * and one in l4 mode, which never dispatches, does not carry undici's code: 2-3 MB of resident memory
 * (a bundled node:http server with and without a Pool). The first request waits for the module once.
 */

import type { Dispatcher, Pool } from 'undici';

/** What the exchanges need of a pool. */
export interface Dispatch {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
}

export class UpstreamPool implements Dispatch {
  #pool: Pool | undefined;
  #loading: Promise<Pool> | undefined;

  constructor(
    readonly origin: string,
    readonly options: Pool.Options,
  ) {}

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#pool) return this.#pool.dispatch(options, handler);
    this.#load().then(
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

  #load(): Promise<Pool> {
    this.#loading ??= import('./undici-pool-class.js').then(({ Pool }) => {
      this.#pool = new Pool(this.origin, this.options);
      return this.#pool;
    });
    return this.#loading;
  }
}
