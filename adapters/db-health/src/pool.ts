/**
 * The checks' own few connections. mysql2's Pool does not fit: its password is fixed when the pool is
 * made (ours is re-read from its file for every new connection, so a rotated Secret works without a
 * restart), and it does not say how many connections it holds, which is the number that must not grow
 * while the database hangs. The loop never runs more checks at once than the pool size, so there is no
 * wait queue here: acquire() reuses an idle connection or opens one.
 */

import type { Connection } from 'mysql2/promise';

export interface PoolOptions {
  /** Opens a connection (reading the password afresh); the pool adds its own bookkeeping. */
  connect(): Promise<Connection>;
  /** Called for every connection opened, for the opened-connections counter. */
  onOpened?(): void;
}

export class ConnectionPool {
  readonly #options: PoolOptions;
  readonly #idle: Connection[] = [];
  /** Every connection this pool has opened and not yet closed, idle or in use. */
  readonly #open = new Set<Connection>();
  #connecting = 0;
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** Connections open or being opened: sockets this process holds to the server. */
  get size(): number {
    return this.#open.size + this.#connecting;
  }

  async acquire(): Promise<Connection> {
    if (this.#closed) throw new Error('the connection pool is closed');
    const idle = this.#idle.pop();
    if (idle) return idle;
    this.#connecting++;
    let conn: Connection;
    try {
      conn = await this.#options.connect();
    } finally {
      this.#connecting--;
    }
    this.#open.add(conn);
    this.#options.onOpened?.();
    // A server that closes an idle connection (restart, wait_timeout) makes it emit 'error' or 'end';
    // without a listener an 'error' would crash the process.
    const forget = () => this.destroy(conn);
    conn.on('error', forget);
    conn.on('end', forget);
    if (this.#closed) this.destroy(conn);
    return conn;
  }

  /** Back to the idle list, for the next check. */
  release(conn: Connection): void {
    if (!this.#open.has(conn)) return;
    if (this.#closed) this.destroy(conn);
    else this.#idle.push(conn);
  }

  /** Closes the socket at once, without waiting for the server: for timed-out and broken connections. */
  destroy(conn: Connection): void {
    if (!this.#open.delete(conn)) return;
    const index = this.#idle.indexOf(conn);
    if (index >= 0) this.#idle.splice(index, 1);
    conn.destroy();
  }

  /**
   * Closes idle connections politely (COM_QUIT, so the server does not count aborted clients). mysql2
   * writes the QUIT and is done, without waiting for the server, so a hung server cannot hold this up.
   * Connections in use are destroyed by their owners.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    for (const conn of idle) this.#open.delete(conn);
    await Promise.all(idle.map((conn) => conn.end().catch(() => conn.destroy())));
  }
}
