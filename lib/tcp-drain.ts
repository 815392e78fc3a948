/**
 * Draining a TCP server, the counterpart of http-drain.ts for raw connections: stop
 * accepting, let open connections finish, resolve when the last one has closed. A TCP proxy cannot see
 * requests, so "finished" is the connection's own business: a connection may say it is at rest (between
 * requests, say), and those are closed during the drain instead of holding it until the deadline. The
 * lifecycle's --shutdown-timeout bounds the whole thing.
 */

import type { Server } from 'node:net';

export interface Drainable {
  /** Ends the connection (both sides, for a proxy). */
  close(): void;
  /** Polled while draining: true when closing it now cuts no work in progress. */
  atRest?(): boolean;
}

export class ConnectionTracker<T extends Drainable> {
  readonly #open = new Set<T>();
  #onEmpty: (() => void) | undefined;
  #draining = false;

  get size(): number {
    return this.#open.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  values(): IterableIterator<T> {
    return this.#open.values();
  }

  add(connection: T): void {
    this.#open.add(connection);
  }

  /** Call when a connection has closed. */
  delete(connection: T): void {
    if (this.#open.delete(connection) && this.#open.size === 0) this.#onEmpty?.();
  }

  /**
   * Closes the listeners (no new connections), then every `pollMs` closes the connections at rest;
   * resolves once none is open. Listeners are closed before this resolves, so the port is free.
   */
  async drain(servers: readonly Server[], { pollMs = 100 }: { pollMs?: number } = {}): Promise<void> {
    this.#draining = true;
    const closed = Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (!server.listening) return resolve();
            // server.close's callback waits for every connection; the listener itself stops at once.
            server.close();
            resolve();
          }),
      ),
    );
    await closed;
    if (this.#open.size === 0) return;
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        for (const connection of this.#open) if (connection.atRest?.()) connection.close();
      }, pollMs);
      this.#onEmpty = () => {
        clearInterval(poll);
        resolve();
      };
      for (const connection of this.#open) if (connection.atRest?.()) connection.close();
    });
  }
}
