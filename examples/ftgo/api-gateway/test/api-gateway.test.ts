/**
 * The API gateway as a process in front of small real HTTP servers standing in for the services: each
 * route reaches its service with method, path, query, body and request id intact, and its status comes
 * back; the composed order read, degraded when Delivery is down, 503 without Order, 404 from Order; a
 * breaker per service that opens and closes again; the rate limit; JWT roles.
 */

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import t, { type Test } from 'tap';
import { distDir, spawnNode } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';

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

t.test('a breaker per service opens on failures and closes again; 429 over the rate limit', async (t) => {
  const order = await service(t, { '/orders/7': [200, { orderId: 7, state: 'APPROVED' }] });
  let deliveryUp = false;
  const delivery = await service(t, {});
  delivery.server.removeAllListeners('request');
  let deliveryCalls = 0;
  delivery.server.on('request', (_req, res) => {
    deliveryCalls++;
    if (deliveryUp)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"deliveryInfo":{"id":7}}');
    else res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"broken"}');
  });
  const gateway = spawnNode(t, join(distDir, 'examples/ftgo/api-gateway/src/main.js'), [], {
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      ORDER_SERVICE_URL: order.url,
      DELIVERY_SERVICE_URL: delivery.url,
      // Nothing listens there: Kitchen and Accounting are down.
      KITCHEN_SERVICE_URL: 'http://127.0.0.1:1',
      ACCOUNTING_SERVICE_URL: 'http://127.0.0.1:1',
      BREAKER_RESET_MS: '1000',
      BREAKER_VOLUME_THRESHOLD: '3',
      RATE_LIMIT_PER_SECOND: '20',
    },
  });
  const base = String((await gateway.waitForLog('listening', 30_000)).address);
  const breaker = async (name: string) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(
      new RegExp(`^ftgo_gateway_breaker_state\\{downstream="${name}"\\} (\\d)$`, 'm').exec(text)?.[1],
    );
  };
  const composed = async () => (await (await fetch(`${base}/orders/7`)).json()) as Record<string, unknown>;

  t.equal(await breaker('delivery'), 0, 'closed at first');
  for (let i = 0; i < 3; i++)
    t.match(await composed(), { orderInfo: { state: 'APPROVED' }, deliveryInfo: null });
  t.equal(await breaker('delivery'), 2, 'three failures in three calls: open');
  const calls = deliveryCalls;
  t.match(await composed(), { deliveryInfo: null, unavailable: ['ticketInfo', 'deliveryInfo', 'billInfo'] });
  t.equal(deliveryCalls, calls, 'an open breaker does not call the service');
  deliveryUp = true;
  await waitFor(async () => (await breaker('delivery')) === 1, { what: 'half-open after BREAKER_RESET_MS' });
  t.match(await composed(), { deliveryInfo: { deliveryInfo: { id: 7 } } }, 'the trial call answers');
  t.equal(await breaker('delivery'), 0, 'closed again');

  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) statuses.push((await fetch(`${base}/orders/7`)).status);
  t.ok(statuses.includes(429), 'over 20 per second: 429');
  const limited = await fetch(`${base}/orders/7`);
  if (limited.status === 429) t.ok(limited.headers.get('retry-after'), 'with Retry-After');
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'probes are not limited');
  t.same(await gateway.stop(), { code: 0, signal: null });
});

t.test(
  'with JWT_SECRET: 401 without or with a bad token, 403 for the wrong role, 200 for consumer',
  async (t) => {
    const consumer = await service(t, { '/consumers/1': [200, { consumerId: 1 }] });
    const secret = 'a-test-secret-of-enough-length-0123456789';
    const gateway = spawnNode(t, join(distDir, 'examples/ftgo/api-gateway/src/main.js'), [], {
      env: { HOST: '127.0.0.1', PORT: '0', CONSUMER_SERVICE_URL: consumer.url, JWT_SECRET: secret },
    });
    const base = String((await gateway.waitForLog('listening', 30_000)).address);
    const token = (roles: string[], key = secret) =>
      new SignJWT({ roles })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(key));
    const get = async (auth?: string) =>
      (await fetch(`${base}/consumers/1`, auth ? { headers: { authorization: `Bearer ${auth}` } } : {}))
        .status;
    t.equal(await get(), 401, 'no token');
    t.equal(
      await get(await token(['consumer'], 'another-secret-of-enough-length-9876543210')),
      401,
      'another key',
    );
    t.equal(await get('not.a.jwt'), 401, 'not a token');
    t.equal(await get(await token(['courier'])), 403, 'a role without this route');
    t.equal(await get(await token(['constructor'])), 403, 'a role named like an object property');
    t.equal(await get(await token(['consumer'])), 200, 'consumer');
    t.equal(await get(await token(['admin'])), 200, 'admin');
    t.equal((await fetch(`${base}/healthz`)).status, 200, 'probes need no token');
    t.equal(consumer.seen.length, 2, 'only the authorized requests reached the service');
    t.same(await gateway.stop(), { code: 0, signal: null });
  },
);
