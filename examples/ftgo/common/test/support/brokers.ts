/**
 * What an FTGO service's test file needs around it: one private MariaDB and one private RabbitMQ shared
 * by its subtests, the environment a service runs with against them (a database of its own each time),
 * and a publisher for the events of services the test stands in for.
 */

import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { sharedMariaDb } from '../../../../../test/support/mariadb.js';
import type { Teardown } from '../../../../../test/support/process.js';
import { sharedRabbitMq } from '../../../../../test/support/rabbitmq.js';
import { exchange } from '../../src/messages.js';

export interface PublishOptions {
  /** The same id twice is a redelivery; a fresh one when absent. */
  messageId?: string;
  /** The sender's outbox sequence, as the outbox publisher sends it; none: a sender without it. */
  eventId?: number;
}

export type Publish = (
  channel: string,
  type: string,
  payload: Record<string, unknown>,
  options?: PublishOptions,
) => string;

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
