/**
 * What an FTGO service's test file needs around it: one private MariaDB and one private RabbitMQ shared
 * by its subtests, the environment a service runs with against them (a database of its own each time),
 * and a publisher for the events of services the test stands in for.
 */

import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { sharedMariaDb } from '../../../../../test/support/mariadb.js';
import type { Spawned, Teardown } from '../../../../../test/support/process.js';
import { sharedRabbitMq } from '../../../../../test/support/rabbitmq.js';
import { waitFor } from '../../../../../test/support/wait.js';
import { exchange } from '../../src/messages.js';

export interface PublishOptions {
  /** The same id twice is a redelivery; a fresh one when absent. */
  messageId?: string;
  /** The sender's outbox sequence, as the outbox publisher sends it; none: a sender without it. */
  eventId?: number;
  /** A command's reply channel and saga id, as a saga orchestrator sends them. */
  replyTo?: string;
  correlationId?: string;
}

export interface Received {
  type: string;
  correlationId: string | undefined;
  payload: Record<string, unknown>;
}

export type Publish = (
  channel: string,
  type: string,
  payload: Record<string, unknown>,
  options?: PublishOptions,
) => string;

/**
 * A service process's address once /readyz says 200: it listens at once, before its schema is migrated
 * and its subscriptions exist, so a test that sends it anything waits for this.
 */
export async function readyAddress(proc: Spawned, timeoutMs = 30_000): Promise<string> {
  const base = String((await proc.waitForLog('listening', timeoutMs)).address);
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, {
    timeoutMs,
    what: `${base}/readyz 200`,
  });
  return base;
}

export function ftgoBrokers(t: Teardown) {
  const db = sharedMariaDb(t);
  const rabbit = sharedRabbitMq(t);
  return {
    /** The variables a service reads (common/src/config.ts), for a fresh database named after `prefix`. */
    async serviceEnv(prefix: string): Promise<NodeJS.ProcessEnv> {
      const [mariadb, broker] = await Promise.all([db(), rabbit()]);
      return {
        HOST: '127.0.0.1',
        PORT: '0',
        MYSQL_PORT: String(mariadb.port),
        MYSQL_PASSWORD: mariadb.password,
        MYSQL_DATABASE: `${prefix}_${randomUUID().slice(0, 8)}`,
        AMQP_URL: broker.url,
        OUTBOX_POLL_MS: '50',
      };
    },

    async amqpUrl(): Promise<string> {
      return (await rabbit()).url;
    },

    /** A queue of the test's own bound to `routingKey`, collecting what arrives (parsed). */
    async listen(t: Teardown, routingKey: string): Promise<Received[]> {
      const connection = await amqp.connect((await rabbit()).url);
      t.teardown(() => connection.close());
      const channel = await connection.createChannel();
      await channel.assertExchange(exchange, 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, exchange, routingKey);
      const received: Received[] = [];
      await channel.consume(
        queue,
        (message) => {
          if (!message) return;
          received.push({
            type: String(message.properties.type),
            correlationId: message.properties.correlationId as string | undefined,
            payload: JSON.parse(message.content.toString('utf8')) as Record<string, unknown>,
          });
        },
        { noAck: true },
      );
      return received;
    },

    /** Publishes messages as another service's outbox would; the connection closes with `t`. */
    async publisher(t: Teardown): Promise<Publish> {
      const connection = await amqp.connect((await rabbit()).url);
      t.teardown(() => connection.close());
      const channel = await connection.createChannel();
      await channel.assertExchange(exchange, 'topic', { durable: true });
      return (routingKey, type, payload, options = {}) => {
        const messageId = options.messageId ?? randomUUID();
        const aggregateId = payload.orderId ?? payload.id;
        channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(payload)), {
          messageId,
          type,
          persistent: true,
          contentType: 'application/json',
          ...(options.replyTo ? { replyTo: options.replyTo } : {}),
          ...(options.correlationId ? { correlationId: options.correlationId } : {}),
          headers: {
            aggregateType: routingKey,
            ...(aggregateId === undefined ? {} : { aggregateId: String(aggregateId) }),
            ...(options.eventId === undefined ? {} : { eventId: options.eventId }),
          },
        });
        return messageId;
      };
    },
  };
}
