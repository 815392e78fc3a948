/**
 * The admin server every component runs on its own port: /healthz (alive), /readyz (ready for its job)
 * and /metrics. It is kept apart from the data path so probes and scrapes never queue behind user
 * traffic, and so the data port can be exposed without exposing these.
 */

import { createRequire } from 'node:module';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { Health } from './health.js';
import type { Logger } from './log.js';
import { onFirstUse } from './on-first-use.js';
import type { HostPort } from './option-types.js';

export interface AdminOptions {
  log: Logger;
  registry: Registry;
  health: Health;
}

export function createAdminServer({ log, registry, health }: AdminOptions): FastifyInstance {
  const app = Fastify({
    // Probes arrive every few seconds: per-request lines and fastify's own info lines would drown the
    // component's log. Warnings and errors from the admin server still come through.
    loggerInstance: log.child({ scope: 'admin' }, { level: 'warn' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Probes must not keep a draining process alive through idle keep-alive sockets.
    forceCloseConnections: true,
    return503OnClosing: false,
    schemaController: { compilersFactory: schemaCompilersOnFirstUse() },
  });

  app.get('/healthz', async (_request, reply) => {
    const report = health.liveness.report();
    return reply
      .code(report.ok ? 200 : 503)
      .send({ status: report.ok ? 'ok' : 'unhealthy', checks: report.checks });
  });

  app.get('/readyz', async (_request, reply) => {
    const report = health.readiness.report();
    const status = health.phase === 'running' ? (report.ok ? 'ready' : 'not ready') : health.phase;
    return reply.code(health.ready ? 200 : 503).send({ status, checks: report.checks });
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });

  return app;
}

/**
 * The admin routes carry no JSON schemas, yet fastify loads ajv and fast-json-stringify at start-up to be
 * ready for some: about 3 MB of idle heap in every container. Its own compilers are loaded here the first
 * time a route with a schema asks for one instead, so nothing is lost if such a route is ever added.
 */
type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;

function schemaCompilersOnFirstUse(): Required<CompilersFactory> {
  const fastifyEntry = import.meta.resolve('fastify');
  // Each module exports a selector: called once, it returns the factory fastify would have used.
  const factory = <F extends (...args: never[]) => unknown>(module: string): F => {
    const selected = onFirstUse(() => (createRequire(fastifyEntry)(module) as () => F)());
    return ((...args: Parameters<F>) => selected()(...args)) as F;
  };
  return {
    buildValidator: factory('@fastify/ajv-compiler'),
    buildSerializer: factory('@fastify/fast-json-stringify-compiler'),
  };
}

/** Listens and returns the bound address (useful with port 0). */
export async function listenAdmin(app: FastifyInstance, address: HostPort): Promise<string> {
  await app.listen({ host: address.host, port: address.port });
  const bound = app.server.address();
  if (bound && typeof bound === 'object') {
    return `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  }
  return address.toString();
}
