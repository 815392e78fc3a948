/**
 * Runs one FTGO service: its schema migrated, a RabbitMQ connection with a confirm channel for the outbox
 * publisher and a channel per subscription, the HTTP app listening; SIGTERM/SIGINT close it in reverse.
 */

import amqp, { type ChannelModel } from 'amqplib';
import type { FastifyInstance } from 'fastify';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { createApp } from './app.js';
import { loadConfig, type ServiceConfig } from './config.js';
import { type Subscription, subscribe } from './consumer.js';
import { inTransaction, type Migration, openDatabase } from './db.js';
import { createLogger } from './log.js';
import { exchange } from './messages.js';
import { OutboxPublisher } from './outbox.js';

export interface ServiceContext {
  readonly pool: Pool;
  readonly log: Logger;
  readonly registry: Registry;
  /** Runs `work` in one transaction, then has the outbox publisher send what it wrote. */
  transaction<T>(work: (conn: PoolConnection) => Promise<T>): Promise<T>;
}

export interface ServiceDefinition {
  readonly name: string;
  readonly port: number;
  readonly database: string;
  readonly migrations: readonly Migration[];
  readonly routes: (app: FastifyInstance, context: ServiceContext) => Promise<void> | void;
  readonly subscriptions?: (context: ServiceContext) => readonly Subscription[];
}

export interface RunningService {
  readonly app: FastifyInstance;
  readonly context: ServiceContext;
  close(): Promise<void>;
}

/** Connects everything a service needs and builds its app without listening (tests `inject()` into it). */
export async function startService(
  definition: ServiceDefinition,
  config: ServiceConfig,
): Promise<RunningService> {
  const log = createLogger(definition.name, config.logLevel);
  const registry = new Registry();
  const pool = await openDatabase(config.mysql, definition.migrations);
  let broker: ChannelModel | undefined;
  let publisher: OutboxPublisher | undefined;
  try {
    broker = await amqp.connect(config.amqpUrl);
    const confirm = await broker.createConfirmChannel();
    await confirm.assertExchange(exchange, 'topic', { durable: true });
    const published = new Counter({
      name: 'ftgo_outbox_published_total',
      help: 'Messages the outbox publisher sent and the broker confirmed.',
      registers: [registry],
    });
    publisher = new OutboxPublisher(pool, confirm, log, (count) => published.inc(count), config.outboxPollMs);
    const wake = () => publisher?.wake();
    const context: ServiceContext = {
      pool,
      log,
      registry,
      async transaction(work) {
        const result = await inTransaction(pool, work);
        wake();
        return result;
      },
    };
    for (const subscription of definition.subscriptions?.(context) ?? []) {
      await subscribe(await broker.createChannel(), pool, subscription, log, wake);
    }
    let brokerUp = true;
    let closing = false;
    broker.on('close', () => {
      brokerUp = false;
      if (!closing) log.error('RabbitMQ connection closed');
    });
    broker.on('error', (err) => log.error({ err }, 'RabbitMQ connection error'));
    const app = await createApp({
      service: definition.name,
      log,
      registry,
      ready: async () => {
        await pool.query('SELECT 1');
        return brokerUp;
      },
      routes: (app) => definition.routes(app, context),
    });
    publisher.start();
    const model = broker;
    const running = publisher;
    return {
      app,
      context,
      async close() {
        closing = true;
        await app.close();
        await running.stop();
        await model.close().catch(() => {});
        await pool.end();
      },
    };
  } catch (err) {
    await publisher?.stop();
    await broker?.close().catch(() => {});
    await pool.end();
    throw err;
  }
}

/** The process entry: config from the environment, listen, stop on SIGTERM/SIGINT. */
export function main(definition: ServiceDefinition): void {
  process.title = definition.name;
  const config = loadConfig(definition.name, { port: definition.port, database: definition.database });
  startService(definition, config).then(
    async (service) => {
      const address = await service.app.listen({ host: config.host, port: config.port });
      service.context.log.info({ address }, 'listening');
      const stop = () => {
        service.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err: Error) => {
      createLogger(definition.name).fatal({ err }, 'cannot start');
      process.exit(1);
    },
  );
}
