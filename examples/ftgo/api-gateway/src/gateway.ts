/**
 * The API gateway's routes, as the original's: `/consumers` to Consumer, order commands to Order,
 * `GET /orders?consumerId=` to Order History, and `GET /orders/:orderId` composed from Order, Kitchen,
 * Delivery and Accounting. Requests pass through with their method, path, query, body and status; the
 * request id goes along so one request can be followed through every service's log. Each service is
 * called through its circuit breaker; the API routes are rate limited per client and, with JWT_SECRET,
 * authenticated (auth.ts).
 */

import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { request as undiciRequest } from 'undici';
import { requireJwt } from './auth.js';
import { type BreakerSettings, breakers, ServerError } from './breakers.js';
import type { Downstream, GatewayConfig } from './downstreams.js';

interface Answer {
  status: number;
  body: unknown;
}

export interface GatewayOptions {
  readonly config: GatewayConfig;
  readonly breakers: BreakerSettings;
  readonly registry: Registry;
  /** Requests per client address per second; 0 turns the limit off. */
  readonly rateLimit: number;
  readonly jwtSecret: string | undefined;
}

/** One call to a service; no answer, a timeout or a 5xx throws (and counts for its breaker). */
async function callService(
  config: GatewayConfig,
  name: Downstream,
  path: string,
  request: FastifyRequest,
  body?: unknown,
): Promise<Answer> {
  const response = await undiciRequest(`${config.urls[name]}${path}`, {
    method: request.method as 'GET' | 'POST',
    headers: {
      'x-request-id': String(request.id),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
  });
  const text = await response.body.text();
  const answer = { status: response.statusCode, body: text ? (JSON.parse(text) as unknown) : {} };
  if (answer.status >= 500) throw new ServerError(answer);
  return answer;
}

export async function gatewayRoutes(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const call = breakers(
    (name, path: string, request: FastifyRequest, body?: unknown) =>
      callService(options.config, name, path, request, body),
    options.breakers,
    options.registry,
  );
  // The API in its own context: the limit and the authentication leave the probes and /metrics alone.
  await app.register(async (api) => {
    if (options.rateLimit > 0) await api.register(rateLimit, { max: options.rateLimit, timeWindow: 1000 });
    if (options.jwtSecret) requireJwt(api, options.jwtSecret);
    apiRoutes(api, call);
  });
}

type Calls = Record<Downstream, (path: string, request: FastifyRequest, body?: unknown) => Promise<Answer>>;

function apiRoutes(app: FastifyInstance, call: Calls): void {
  const forward = (name: Downstream) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      // The path and query as the client sent them: the routes are the services' own.
      const answer = await call[name](
        request.url,
        request,
        request.method === 'GET' ? undefined : (request.body ?? {}),
      );
      return reply.code(answer.status).send(answer.body);
    } catch (err) {
      if (err instanceof ServerError) return reply.code(err.answer.status).send(err.answer.body);
      request.log.warn({ downstream: name, err: (err as Error).message }, 'downstream unavailable');
      return reply.code(503).send({ message: `${name} service unavailable` });
    }
  };

  app.post('/consumers', forward('consumer'));
  app.get('/consumers/:consumerId', forward('consumer'));
  app.post('/orders', forward('order'));
  app.post('/orders/:orderId/cancel', forward('order'));
  app.post('/orders/:orderId/revise', forward('order'));
  app.get('/orders', forward('orderHistory'));

  app.get<{ Params: { orderId: string } }>('/orders/:orderId', async (request, reply) => {
    const id = encodeURIComponent(request.params.orderId);
    const parts = await Promise.allSettled([
      call.order(`/orders/${id}`, request),
      call.kitchen(`/tickets/${id}`, request),
      call.delivery(`/deliveries/${id}`, request),
      call.accounting(`/bills/${id}`, request),
    ]);
    const [order, ...others] = parts;
    if (order.status === 'rejected') return reply.code(503).send({ message: 'order service unavailable' });
    if (order.value.status !== 200) return reply.code(order.value.status).send(order.value.body);
    // The order is the answer; each other part degrades to null, named in `unavailable`.
    const names = ['ticketInfo', 'deliveryInfo', 'billInfo'] as const;
    const unavailable: string[] = [];
    const composed: Record<string, unknown> = { orderInfo: order.value.body };
    others.forEach((part, index) => {
      const name = names[index] as string;
      const ok = part.status === 'fulfilled' && part.value.status === 200;
      composed[name] = ok ? part.value.body : null;
      if (part.status === 'rejected') unavailable.push(name);
    });
    return { ...composed, ...(unavailable.length > 0 ? { unavailable } : {}) };
  });
}
