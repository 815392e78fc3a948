/**
 * The HTTP side every FTGO service shares: fastify with JSON logs, `/healthz` (the process serves),
 * `/readyz` (its dependencies answer), `/metrics` (Prometheus) and `/openapi.json` built from the route
 * schemas by @fastify/swagger.
 */

import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

export interface AppOptions {
  readonly service: string;
  readonly log: Logger;
  /** Whether the service can do its work now (database and broker reachable). */
  readonly ready: () => Promise<boolean>;
  readonly registry?: Registry;
  /** The service's routes, registered after the shared ones so they appear in the OpenAPI description. */
  readonly routes: (app: FastifyInstance) => Promise<void> | void;
}

export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const registry = options.registry ?? new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'ftgo_http_requests_total',
    help: 'HTTP requests answered, by route and status code.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const app: FastifyInstance = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    // A request line each would drown the service's own lines; the top-level option is deprecated.
    logController: new LogController({ disableRequestLogging: true }),
  });
  await app.register(swagger, {
    openapi: { info: { title: options.service, version: '1.0.0' } },
  });
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({
      method: request.method,
      route: request.routeOptions.url ?? 'unknown',
      status: reply.statusCode,
    });
  });
  const hidden = { schema: { hide: true } };
  app.get('/healthz', hidden, async () => ({ status: 'UP' }));
  app.get('/readyz', hidden, async (_request, reply) => {
    const ready = await options.ready().catch(() => false);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'UP' : 'DOWN' });
  });
  app.get('/metrics', hidden, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  app.get('/openapi.json', hidden, async () => app.swagger());
  await options.routes(app);
  await app.ready();
  return app;
}

/**
 * Listens where the service's settings say and, on SIGTERM or SIGINT, runs `close` (the app and whatever
 * the service holds) and exits 0, or 1 when closing fails.
 */
export async function listenUntilStopped(
  app: FastifyInstance,
  at: { host: string; port: number },
  log: Logger,
  close: () => Promise<void>,
): Promise<void> {
  const address = await app.listen({ host: at.host, port: at.port });
  log.info({ address }, 'listening');
  const stop = () => {
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
