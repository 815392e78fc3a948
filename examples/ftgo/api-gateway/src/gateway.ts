/**
 * The API gateway's routes, as the original's: `/consumers` to Consumer, order commands to Order,
 * `GET /orders?consumerId=` to Order History, and `GET /orders/:orderId` composed from Order, Kitchen,
 * Delivery and Accounting. Requests pass through with their method, path, query, body and status; the
 * request id goes along so one request can be followed through every service's log.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { request as undiciRequest } from 'undici';
import type { Downstream, GatewayConfig } from './downstreams.js';

interface Answer {
  status: number;
  body: unknown;
}

export function gatewayRoutes(app: FastifyInstance, config: GatewayConfig): void {
  /** One call to a service; a transport failure or a timeout throws. */
  const call = async (
    name: Downstream,
    path: string,
    request: FastifyRequest,
    body?: unknown,
  ): Promise<Answer> => {
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
    return { status: response.statusCode, body: text ? (JSON.parse(text) as unknown) : {} };
  };

  const forward = (name: Downstream) => async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const path = `${request.url.split('?')[0]}${query}`;
    try {
      const answer = await call(
        name,
        path,
        request,
        request.method === 'GET' ? undefined : (request.body ?? {}),
      );
      return reply.code(answer.status).send(answer.body);
    } catch (err) {
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
      call('order', `/orders/${id}`, request),
      call('kitchen', `/tickets/${id}`, request),
      call('delivery', `/deliveries/${id}`, request),
      call('accounting', `/bills/${id}`, request),
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
      if (!ok && !(part.status === 'fulfilled' && part.value.status === 404)) unavailable.push(name);
    });
    return { ...composed, ...(unavailable.length > 0 ? { unavailable } : {}) };
  });
}
