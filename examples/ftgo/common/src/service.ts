/**
 * Runs one FTGO service: the HTTP app listens at once; meanwhile its schema is migrated and its RabbitMQ
 * connection kept up (a confirm channel for the outbox publisher, a channel per subscription), each retried
 * with backoff while unreachable, so a service may start before its database and broker. /readyz says 503
 * until both are there; SIGTERM/SIGINT close it in reverse.
 */

import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { createApp, listenUntilStopped } from './app.js';
import { BrokerConnection } from './broker-connection.js';
import { exitIfConfigError, loadConfig, type ServiceConfig, withConfig } from './config.js';
import { type Subscription, subscribe } from './consumer.js';
import { createPool, inTransaction, type Migration, prepareSchema } from './db.js';
import { createLogger } from './log.js';
import { exchange } from './messages.js';
import { OutboxPublisher } from './outbox.js';
import { keepTrying } from './retry.js';

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
  /** Resolves once the schema is migrated and the broker connection set up the first time. */
  readonly connected: Promise<void>;
  close(): Promise<void>;
}

/** mysql2's codes for a server that cannot be reached or went away (not a query's own error). */
const unreachable = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);

function databaseUnreachable(err: FastifyError & { fatal?: boolean }): boolean {
  return err.fatal === true || (typeof err.code === 'string' && unreachable.has(err.code));
}

function unavailable(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message });
}

/**
 * Builds the service's app (not listening: tests `inject()` into it, `main` listens) and starts reaching
 * its database and broker in the background.
 */
export async function createService(
  definition: ServiceDefinition,
  config: ServiceConfig,
): Promise<RunningService> {
  const log = createLogger(definition.name, config.logLevel);
  const registry = new Registry();
  const stopping = new AbortController();
  const pool = createPool(config.mysql);
  const published = new Counter({
    name: 'ftgo_outbox_published_total',
    help: 'Messages the outbox publisher sent and the broker confirmed.',
    registers: [registry],
  });
  const publisher = new OutboxPublisher(
    pool,
    undefined,
    log,
    (count) => published.inc(count),
    config.outboxPollMs,
  );
  const wake = () => publisher.wake();
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
  const subscriptions = definition.subscriptions?.(context) ?? [];

  let schemaReady = false;
  const { host, port, database } = config.mysql;
  const schema = keepTrying(
    'MySQL',
    async () => {
      await prepareSchema(pool, config.mysql, definition.migrations);
      return true;
    },
    { log, signal: stopping.signal, target: `${host}:${port}/${database}`, secrets: [config.mysql.password] },
  ).then((done) => {
    schemaReady = done === true;
    if (schemaReady) log.info({ database }, 'database schema ready');
    return schemaReady;
  });

  const broker = new BrokerConnection({
    url: config.amqpUrl,
    log,
    registry,
    async setUp(session) {
      // No message is taken before the tables its handler and the outbox need exist.
      if (!(await schema)) throw new Error('stopping');
      const confirm = await session.createConfirmChannel();
      await confirm.assertExchange(exchange, 'topic', { durable: true });
      for (const subscription of subscriptions)
        await subscribe(await session.createChannel(), pool, subscription, log, wake);
      publisher.use(confirm);
    },
    onLost: () => publisher.use(undefined),
  });

  const app = await createApp({
    service: definition.name,
    log,
    registry,
    ready: async () => {
      if (!schemaReady || !broker.connected) return false;
      await pool.query('SELECT 1');
      return true;
    },
    routes: async (app) => {
      // The service's own routes need the database: until it is there, or while it is gone, they answer
      // 503 rather than fail.
      await app.register(async (scope) => {
        scope.addHook('onRequest', async (_request, reply) => {
          if (!schemaReady) return unavailable(reply, 'the database is not reachable yet');
        });
        scope.setErrorHandler((err: FastifyError, request, reply) => {
          if (!databaseUnreachable(err)) throw err;
          request.log.warn({ err }, 'database unreachable');
          return unavailable(reply, 'the database is not reachable');
        });
        await definition.routes(scope, context);
      });
    },
  });
  publisher.start();
  broker.start();
  return {
    app,
    context,
    connected: Promise.all([schema, broker.firstConnected]).then(() => {}),
    async close() {
      stopping.abort();
      await app.close();
      await publisher.stop();
      await broker.close();
      await schema;
      await pool.end();
    },
  };
}

/** As `createService`, resolving once the database and broker are reached (tests). */
export async function startService(
  definition: ServiceDefinition,
  config: ServiceConfig,
): Promise<RunningService> {
  const service = await createService(definition, config);
  await service.connected;
  return service;
}

/** The process entry: config from the environment (exit 2 when bad), listen, stop on SIGTERM/SIGINT. */
export function main(definition: ServiceDefinition): void {
  process.title = definition.name;
  const config = withConfig(definition.name, () =>
    loadConfig(definition.name, { port: definition.port, database: definition.database }),
  );
  const start = async () => {
    const service = await createService(definition, config);
    await listenUntilStopped(service.app, config, service.context.log, () => service.close());
  };
  start().catch((err: Error) => {
    // A service's own settings (read as its definition is set up) are configuration too.
    exitIfConfigError(definition.name, err);
    createLogger(definition.name).fatal({ err }, 'cannot start');
    process.exit(1);
  });
}
