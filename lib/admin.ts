/**
 * The admin server every component runs on its own port: /healthz (alive), /readyz (ready for its job)
 * and /metrics (Prometheus text or OpenMetrics, as the scraper's Accept header asks), plus the few routes a component adds (POST /sync, /startupz, POST /quitquitquit). It is
 * kept apart from the data path so probes and scrapes never queue behind user traffic, and so the data
 * port can be exposed without exposing these.
 *
 * A fixed route table on node:http, not fastify: these routes take no parameters or schemas and read no
 * bodies, and fastify's modules would sit in every container's idle memory (docs/performance.md).
 */

import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { describeError } from './errors.js';
import { contentTypes, negotiateFormat, renderRegistry } from './exposition.js';
import type { Health } from './health.js';
import { listen } from './http-server.js';
import type { Logger } from './log.js';
import type { HostPort } from './option-types.js';

/** What a route answers. */
export interface AdminAnswer {
  status: number;
  /** Sent as JSON, unless it is a string: then as is, as `contentType`. */
  body: unknown;
  contentType?: string;
  headers?: Readonly<Record<string, string>>;
}

/** Reads what it needs of the request (headers; admin routes ignore bodies) and answers. */
export type AdminHandler = (request: IncomingMessage) => AdminAnswer | Promise<AdminAnswer>;

type Method = 'GET' | 'POST';

const jsonType = 'application/json; charset=utf-8';

/** No route reads a body; a push webhook to POST /sync fits well within this. */
export const maxAdminBodyBytes = 1024 * 1024;
/** Probes, scrapes and the odd POST: more at once is someone holding sockets. */
export const maxAdminConnections = 100;

type AdminLimit = 'body' | 'connections';

export class AdminServer {
  readonly server: Server;
  readonly #routes = new Map<string, Map<Method, AdminHandler>>();
  readonly #rejections: Counter<'limit'> | undefined;

  /** `timeouts` are for tests; the defaults suit probes and scrapes. Tripped limits count in `registry`. */
  constructor(
    private readonly log: Logger,
    timeouts: Pick<ServerOptions, 'headersTimeout' | 'requestTimeout' | 'connectionsCheckingInterval'> = {},
    registry?: Registry,
  ) {
    this.#rejections = registry
      ? new Counter({
          name: 'podkit_admin_limit_rejections_total',
          help: 'Admin requests or connections refused for a limit: body (over the size cap, 413) or connections (over the cap, closed).',
          labelNames: ['limit'],
          registers: [registry],
        })
      : undefined;
    for (const limit of ['body', 'connections'] as const) this.#rejections?.inc({ limit }, 0);
    this.server = createServer(
      // A probe or a scrape is a few hundred bytes: a client that takes longer than this to send one
      // is holding a socket, not asking.
      { headersTimeout: 10_000, requestTimeout: 30_000, ...timeouts },
      (request, response) => {
        this.#serve(request, response).catch((err: unknown) => this.#failed(request, response, err));
      },
    );
    // Over the cap node closes a new connection at once; the ones open are not disturbed.
    this.server.maxConnections = maxAdminConnections;
    this.server.on('drop', () => this.#rejected('connections'));
  }

  /** Adds `GET path` (HEAD answers too, without the body). Paths are exact; the query is ignored. */
  get(path: string, handler: AdminHandler): void {
    this.#add('GET', path, handler);
  }

  post(path: string, handler: AdminHandler): void {
    this.#add('POST', path, handler);
  }

  /** Listens and returns the bound address (useful with port 0). */
  listen(address: HostPort): Promise<string> {
    return listen(this.server, address, 'admin server');
  }

  /** Stops listening and ends every connection, idle keep-alive ones included: probes must not keep a
   * draining process alive. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  #add(method: Method, path: string, handler: AdminHandler): void {
    const methods = this.#routes.get(path) ?? new Map<Method, AdminHandler>();
    if (methods.has(method)) throw new Error(`the admin server already has ${method} ${path}`);
    methods.set(method, handler);
    this.#routes.set(path, methods);
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // No route reads a body (a webhook's JSON means nothing to POST /sync): drop it as it arrives, so
    // the request is complete even while a slow handler works, and node's request timeout stays off it.
    if (!this.#dropBody(request, response)) return;
    const path = routePath(request);
    const methods = this.#routes.get(path);
    if (!methods) {
      send(response, request, { status: 404, body: { error: `no route ${path} on the admin server` } });
      return;
    }
    const handler = methods.get((request.method === 'HEAD' ? 'GET' : request.method) as Method);
    if (!handler) {
      const allowed = [...methods.keys()].flatMap((method) =>
        method === 'GET' ? ['GET', 'HEAD'] : [method],
      );
      send(response, request, {
        status: 405,
        body: { error: `${request.method} is not allowed on ${path}: use ${allowed.join(' or ')}` },
        headers: { allow: allowed.join(', ') },
      });
      return;
    }
    const answer = await handler(request);
    // A body that went over the cap while the handler worked was answered with 413 already.
    if (!response.headersSent) send(response, request, answer);
  }

  /**
   * Drops the body as it arrives, up to maxAdminBodyBytes; over it (announced or sent): 413 and the
   * connection closed without reading on. False when the request was answered here.
   */
  #dropBody(request: IncomingMessage, response: ServerResponse): boolean {
    const tooLarge = () => {
      this.#rejected('body');
      request.removeAllListeners('data');
      request.pause();
      if (response.headersSent) return void request.socket.destroy();
      response.once('finish', () => request.socket.destroy());
      send(response, request, {
        status: 413,
        body: { error: `the admin server takes request bodies of at most ${maxAdminBodyBytes} bytes` },
        headers: { connection: 'close' },
      });
    };
    if (Number(request.headers['content-length'] ?? 0) > maxAdminBodyBytes) {
      tooLarge();
      return false;
    }
    let received = 0;
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxAdminBodyBytes) tooLarge();
    });
    return true;
  }

  #rejected(limit: AdminLimit): void {
    this.#rejections?.inc({ limit });
    // Debug, not warn: a flood of refused connections must not become a flood of log lines.
    this.log.debug({ scope: 'admin', limit }, 'admin limit reached');
  }

  /** A handler that threw, or an answer that cannot be sent (a body JSON cannot hold, a bad header). */
  #failed(request: IncomingMessage, response: ServerResponse, err: unknown): void {
    const path = routePath(request);
    this.log.error({ scope: 'admin', path, err: describeError(err) }, 'admin route failed');
    if (response.headersSent) {
      response.destroy();
      return;
    }
    send(response, request, {
      status: 500,
      body: { error: `${request.method} ${path} failed; see the log` },
    });
  }
}

/** The path a route is found by: the query string does not count. */
function routePath(request: IncomingMessage): string {
  return (request.url ?? '/').split('?', 1)[0] as string;
}

function send(response: ServerResponse, request: IncomingMessage, answer: AdminAnswer): void {
  const text = typeof answer.body === 'string';
  // JSON.stringify gives undefined for undefined and throws for a BigInt: both reach #failed.
  const body = Buffer.from(text ? (answer.body as string) : (JSON.stringify(answer.body) as string));
  response.writeHead(answer.status, {
    ...answer.headers,
    'content-type': text ? (answer.contentType ?? 'text/plain; charset=utf-8') : jsonType,
    'content-length': body.length,
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

export interface AdminOptions {
  log: Logger;
  registry: Registry;
  health: Health;
}

/** The admin server with the three routes every component has; components add theirs in start(). */
export function createAdminServer({ log, registry, health }: AdminOptions): AdminServer {
  const admin = new AdminServer(log, {}, registry);
  admin.get('/healthz', () => {
    const report = health.liveness.report();
    return {
      status: report.ok ? 200 : 503,
      body: { status: report.ok ? 'ok' : 'unhealthy', checks: report.checks },
    };
  });
  admin.get('/readyz', () => {
    const report = health.readiness.report();
    const status = health.phase === 'running' ? (report.ok ? 'ready' : 'not ready') : health.phase;
    return { status: health.ready ? 200 : 503, body: { status, checks: report.checks } };
  });
  admin.get('/metrics', async (request) => {
    const format = negotiateFormat(request.headers.accept);
    return {
      status: 200,
      body: await renderRegistry(registry, format),
      contentType: contentTypes[format],
      headers: { vary: 'Accept' },
    };
  });
  return admin;
}
