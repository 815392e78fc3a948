/**
 * The admin server every component runs on its own port: /healthz (alive), /readyz (ready for its job)
 * and /metrics. It is kept apart from the data path so probes and scrapes never queue behind user
 * traffic, and so the data port can be exposed without exposing these.
 */

import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { Health } from './health.js';
import type { Logger } from './log.js';
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
    schemaController: { compilersFactory: noSchemaCompilers() },
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

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;

/**
 * No admin route carries a JSON schema, yet fastify loads ajv and fast-json-stringify at start-up to be
 * ready for one: about 2 MB of heap in every container for its whole life. These stand in for them and
 * refuse a schema outright, so a route that adds one fails at start with this reason rather than run
 * unvalidated. (Loading the real compilers here on first use would not be the same: fastify treats any
 * given factory as a custom compiler and stops lower-casing header schemas.)
 */
function noSchemaCompilers(): Required<CompilersFactory> {
  const refuse = (): never => {
    throw new Error(
      "podkit's admin server compiles no JSON schemas (ajv is not loaded, to keep idle memory down): check the request in the handler",
    );
  };
  return { buildValidator: refuse, buildSerializer: refuse };
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
