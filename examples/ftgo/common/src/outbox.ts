/**
 * Transactional outbox: a message is a row written by the same transaction as the change it reports, so
 * it is sent if and only if that change commits. A polling publisher sends unsent rows in id order (one
 * aggregate's messages keep their order) with publisher confirms, and marks them sent only once the broker
 * has confirmed them: at least once, duplicates left to idempotent consumers.
 */

import { randomUUID } from 'node:crypto';
import type { ConfirmChannel } from 'amqplib';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { exchange, type OutgoingMessage } from './messages.js';

/** Adds `message` to the outbox in `conn`'s open transaction; returns its message id. */
export async function addToOutbox(conn: PoolConnection, message: OutgoingMessage): Promise<string> {
  const messageId = randomUUID();
  await conn.query(
    `INSERT INTO outbox (message_id, destination, type, aggregate_type, aggregate_id, correlation_id, reply_to, payload)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      messageId,
      message.destination,
      message.type,
      message.aggregateType ?? null,
      message.aggregateId ?? null,
      message.correlationId ?? null,
      message.replyTo ?? null,
      JSON.stringify(message.payload),
    ],
  );
  return messageId;
}

interface OutboxRow extends RowDataPacket {
  id: number;
  message_id: string;
  destination: string;
  type: string;
  aggregate_type: string | null;
  aggregate_id: string | null;
  correlation_id: string | null;
  reply_to: string | null;
  payload: string;
}

export class OutboxPublisher {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #channel: ConfirmChannel | undefined;

  /** Without a channel it waits (rows stay in the outbox) until `use` gives it one. */
  constructor(
    private readonly pool: Pool,
    channel: ConfirmChannel | undefined,
    private readonly log: Logger,
    private readonly onPublished: (count: number) => void,
    private readonly pollMs = 200,
    private readonly batch = 100,
  ) {
    this.#channel = channel;
  }

  /**
   * The broker's channel after a (re)connect, or undefined while the connection is down: publishing pauses
   * and the unconfirmed rows stay unsent, to go out on the next channel.
   */
  use(channel: ConfirmChannel | undefined): void {
    this.#channel = channel;
    if (channel) this.wake();
  }

  start(): void {
    this.#schedule(0);
  }

  /** Publish soon: called after a commit that wrote to the outbox, so messages need not wait for the poll. */
  wake(): void {
    if (this.#running) this.#again = true;
    else this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.#publishAll().finally(() => {
        this.#running = undefined;
        const again = this.#again;
        this.#again = false;
        this.#schedule(again ? 0 : this.pollMs);
      });
    }, ms);
  }

  async #publishAll(): Promise<void> {
    try {
      while (!this.#stopped && (await this.publishBatch()) === this.batch) {}
    } catch (err) {
      this.log.warn({ err }, 'outbox publish failed; retrying at the next poll');
    }
  }

  /** Publishes one batch of unsent rows; returns how many. Row locks keep two publishers from interleaving. */
  async publishBatch(): Promise<number> {
    const channel = this.#channel;
    if (!channel) return 0;
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      const [rows] = await conn.query<OutboxRow[]>(
        'SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ? FOR UPDATE',
        [this.batch],
      );
      if (rows.length === 0) {
        await conn.commit();
        return 0;
      }
      for (const row of rows) {
        channel.publish(exchange, row.destination, Buffer.from(row.payload), {
          persistent: true,
          contentType: 'application/json',
          messageId: row.message_id,
          type: row.type,
          ...(row.correlation_id ? { correlationId: row.correlation_id } : {}),
          ...(row.reply_to ? { replyTo: row.reply_to } : {}),
          // The row id orders a sender's events (one aggregate's come from successive transactions), so a
          // view can ignore an event older than the last it applied (eventId, as in design notes 2.6.3).
          headers: {
            aggregateType: row.aggregate_type,
            aggregateId: row.aggregate_id,
            eventId: Number(row.id),
          },
        });
      }
      await channel.waitForConfirms();
      await conn.query('UPDATE outbox SET sent_at = CURRENT_TIMESTAMP(3) WHERE id IN (?)', [
        rows.map((r) => r.id),
      ]);
      await conn.commit();
      this.onPublished(rows.length);
      return rows.length;
    } catch (err) {
      await conn.rollback().catch(() => {});
      throw err;
    } finally {
      conn.release();
    }
  }
}
