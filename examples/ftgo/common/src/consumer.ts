/**
 * Idempotent message handling: the message id goes into `processed_messages` in the same transaction as
 * the handler's effect (and any messages it sends through the outbox), so a redelivered message is
 * acknowledged without running again. One message at a time per queue keeps each aggregate's order.
 */

import type { Channel, ConsumeMessage } from 'amqplib';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from 'pino';
import { inTransaction } from './db.js';
import { exchange, type Message } from './messages.js';

export type Handler = (conn: PoolConnection, message: Message) => Promise<void>;

export interface Subscription {
  /** The queue, durable, named after the consuming service and what it listens to. */
  readonly queue: string;
  /** The channels (routing keys) bound to it. */
  readonly channels: readonly string[];
  /** Handlers by message type; a type without one is acknowledged and ignored. */
  readonly handlers: Readonly<Record<string, Handler>>;
}

export function toMessage(raw: ConsumeMessage): Message {
  const headers = raw.properties.headers ?? {};
  return {
    messageId: String(raw.properties.messageId ?? ''),
    destination: raw.fields.routingKey,
    type: String(raw.properties.type ?? ''),
    payload: JSON.parse(raw.content.toString('utf8')) as unknown,
    ...(headers.aggregateType ? { aggregateType: String(headers.aggregateType) } : {}),
    ...(headers.aggregateId ? { aggregateId: String(headers.aggregateId) } : {}),
    ...(raw.properties.correlationId ? { correlationId: String(raw.properties.correlationId) } : {}),
    ...(raw.properties.replyTo ? { replyTo: String(raw.properties.replyTo) } : {}),
    ...(Number.isSafeInteger(headers.eventId) ? { eventId: Number(headers.eventId) } : {}),
  };
}

/**
 * Handles `message` once: false when it had been processed before (nothing ran). Throws when the handler
 * throws, with nothing committed.
 */
export async function handleOnce(
  pool: Pool,
  consumer: string,
  message: Message,
  handler: Handler,
): Promise<boolean> {
  return inTransaction(pool, async (conn) => {
    const [result] = await conn.query(
      'INSERT IGNORE INTO processed_messages (consumer, message_id) VALUES (?, ?)',
      [consumer, message.messageId],
    );
    if ((result as { affectedRows: number }).affectedRows === 0) return false;
    await handler(conn, message);
    return true;
  });
}

export async function subscribe(
  channel: Channel,
  pool: Pool,
  subscription: Subscription,
  log: Logger,
  afterCommit: () => void,
): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(subscription.queue, { durable: true });
  for (const key of subscription.channels) await channel.bindQueue(subscription.queue, exchange, key);
  await channel.prefetch(1);
  // Once the channel is closed (the connection was lost) an ack or nack cannot be sent and would throw:
  // the broker has put the message back already, and the idempotent handler absorbs its redelivery.
  const settle = (send: () => void) => {
    try {
      send();
    } catch (err) {
      log.debug({ err, queue: subscription.queue }, 'channel closed before the message was settled');
    }
  };
  await channel.consume(subscription.queue, (raw) => {
    if (!raw) {
      // The broker cancelled the consumer (its queue was deleted): closing the channel has the
      // connection keeper set the subscription up again.
      log.warn({ queue: subscription.queue }, 'consumer cancelled by the broker');
      channel.close().catch(() => {});
      return;
    }
    void (async () => {
      let message: Message;
      try {
        message = toMessage(raw);
        if (!message.messageId) throw new Error('no message id');
      } catch (err) {
        log.error({ err, queue: subscription.queue }, 'unreadable message dropped');
        settle(() => channel.nack(raw, false, false));
        return;
      }
      const handler = subscription.handlers[message.type];
      if (!handler) {
        settle(() => channel.ack(raw));
        return;
      }
      let ran: boolean;
      try {
        ran = await handleOnce(pool, subscription.queue, message, handler);
      } catch (err) {
        log.error(
          { err, messageId: message.messageId, type: message.type },
          'message handler failed; redelivering',
        );
        // Back off a little so a failing dependency (the database) is not hammered.
        setTimeout(() => settle(() => channel.nack(raw, false, true)), 1000).unref();
        return;
      }
      if (!ran) log.info({ messageId: message.messageId, type: message.type }, 'duplicate message ignored');
      else afterCommit();
      settle(() => channel.ack(raw));
    })();
  });
}
