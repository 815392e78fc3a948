/**
 * The API gateway as a process in front of small real HTTP servers standing in for the services: each
 * route reaches its service with method, path, query, body and request id intact, and its status comes
 * back; the composed order read, degraded when Delivery is down, 503 without Order, 404 from Order.
 */

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { distDir, spawnNode } from '../../../../test/support/process.js';

interface Seen {
  method: string;
  url: string;
  body: string;
  requestId: string | undefined;
}

/** A service: answers `routes[path]` (status, body), 404 otherwise, and records each request. */
async function service(t: Test, routes: Record<string, [number, unknown]>) {
  const seen: Seen[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      body,
      requestId: req.headers['x-request-id'] as string,
    });
    const [status, answer] = routes[req.url?.split('?')[0] ?? ''] ?? [404, { message: 'not found' }];
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

t.test('routes pass through; GET /orders/:id is composed and degrades', async (t) => {
  const consumer = await service(t, {
    '/consumers': [200, { consumerId: 1 }],
    '/consumers/1': [200, { consumerId: 1 }],
  });
  const order = await service(t, {
    '/orders': [200, { orderId: 7 }],
    '/orders/7': [200, { orderId: 7, state: 'APPROVED', orderTotal: '61.70' }],
    '/orders/7/cancel': [409, { message: 'order 7 is CANCEL_PENDING' }],
    '/orders/7/revise': [200, { orderId: 7, state: 'REVISION_PENDING' }],
  });
  const kitchen = await service(t, { '/tickets/7': [200, { ticketId: 7, state: 'ACCEPTED' }] });
  const accounting = await service(t, { '/bills/7': [200, { orderId: 7, state: 'AUTHORIZED' }] });
  const history = await service(t, { '/orders': [200, { orders: [{ orderId: 7, status: 'APPROVED' }] }] });
  const delivery = await service(t, {
    '/deliveries/7': [200, { deliveryInfo: { id: 7, state: 'SCHEDULED' } }],
  });
  const gateway = spawnNode(t, join(distDir, 'examples/ftgo/api-gateway/src/main.js'), [], {
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      DOWNSTREAM_TIMEOUT_MS: '2000',
      CONSUMER_SERVICE_URL: consumer.url,
      ORDER_SERVICE_URL: order.url,
      KITCHEN_SERVICE_URL: kitchen.url,
      ACCOUNTING_SERVICE_URL: accounting.url,
      ORDER_HISTORY_SERVICE_URL: history.url,
      DELIVERY_SERVICE_URL: delivery.url,
    },
  });
  const base = String((await gateway.waitForLog('listening', 30_000)).address);
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  t.same(await call('POST', '/consumers', { name: { firstName: 'J', lastName: 'D' } }), {
    status: 200,
    body: { consumerId: 1 },
  });
  t.match(consumer.seen.at(-1), {
    method: 'POST',
    url: '/consumers',
    body: '{"name":{"firstName":"J","lastName":"D"}}',
  });
  t.ok(consumer.seen.at(-1)?.requestId, 'the request id goes along');
  t.equal((await call('GET', '/consumers/1')).status, 200);
  t.same((await call('POST', '/orders', { consumerId: 1 })).body, { orderId: 7 });
  t.match(
    await call('POST', '/orders/7/cancel', {}),
    { status: 409, body: { message: /CANCEL_PENDING/ } },
    'status kept',
  );
  t.equal((await call('POST', '/orders/7/revise', { revisedOrderLineItems: [] })).status, 200);
  t.match(order.seen.at(-1), {
    method: 'POST',
    url: '/orders/7/revise',
    body: '{"revisedOrderLineItems":[]}',
  });
  t.same((await call('GET', '/orders?consumerId=1')).body, { orders: [{ orderId: 7, status: 'APPROVED' }] });
  t.match(history.seen.at(-1), { method: 'GET', url: '/orders?consumerId=1' });

  t.same((await call('GET', '/orders/7')).body, {
    orderInfo: { orderId: 7, state: 'APPROVED', orderTotal: '61.70' },
    ticketInfo: { ticketId: 7, state: 'ACCEPTED' },
    deliveryInfo: { deliveryInfo: { id: 7, state: 'SCHEDULED' } },
    billInfo: { orderId: 7, state: 'AUTHORIZED' },
  });
  t.match(await call('GET', '/orders/8'), { status: 404 }, "Order's 404");

  delivery.server.closeAllConnections();
  await new Promise<void>((resolve) => delivery.server.close(() => resolve()));
  t.match(
    await call('GET', '/orders/7'),
    {
      status: 200,
      body: { orderInfo: { state: 'APPROVED' }, deliveryInfo: null, unavailable: ['deliveryInfo'] },
    },
    'Delivery down: the rest of the answer, and what is missing',
  );
  order.server.closeAllConnections();
  await new Promise<void>((resolve) => order.server.close(() => resolve()));
  t.match(
    await call('GET', '/orders/7'),
    { status: 503, body: { message: /order/ } },
    'no answer without Order',
  );
  t.match(await call('POST', '/orders', {}), { status: 503 });
  t.same(await gateway.stop(), { code: 0, signal: null }, 'SIGTERM stops it cleanly');
});
