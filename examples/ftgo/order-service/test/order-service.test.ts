/**
 * Order Service and its sagas with the real participants: Consumer, Kitchen and Accounting services on
 * one private MariaDB (a database each) and one private RabbitMQ. Create (approved, declined, unknown
 * consumer), Revise and Cancel with their semantic locks and compensations; then order-service as a
 * process, SIGKILLed while its saga waits for Kitchen, restarted: the saga completes once; with Kitchen and
 * Accounting answered from the test, the lock while the saga is in flight and a reply delivered twice.
 */

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import t, { type Test as Tap } from 'tap';
import { distDir, spawnNode } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';
import { accountingService } from '../../accounting-service/src/service.js';
import { loadConfig } from '../../common/src/config.js';
import { type RunningService, type ServiceDefinition, startService } from '../../common/src/service.js';
import { ftgoBrokers, type Received, readyAddress } from '../../common/test/support/brokers.js';
import { consumerService } from '../../consumer-service/src/service.js';
import { kitchenService } from '../../kitchen-service/src/service.js';
import { orderService } from '../src/service.js';

const brokers = ftgoBrokers(t);
const menu = { menuItems: [{ id: '1', name: 'Chicken Vindaloo', price: '12.34' }] };

async function run(t: Tap, definition: ServiceDefinition, env?: NodeJS.ProcessEnv): Promise<RunningService> {
  const vars = env ?? { ...(await brokers.serviceEnv(definition.database)), LOG_LEVEL: 'error' };
  const service = await startService(
    definition,
    loadConfig(definition.name, { port: definition.port, database: 'unused' }, vars),
  );
  t.teardown(() => service.close());
  return service;
}

async function call(service: RunningService, method: 'GET' | 'POST', url: string, payload?: unknown) {
  const answer = await service.app.inject({
    method,
    url,
    ...(payload ? { payload: payload as object } : {}),
  });
  return { status: answer.statusCode, body: answer.json() as Record<string, unknown> };
}

t.test('create, revise and cancel with the real participants; compensations and locks', async (t) => {
  const [consumer, kitchen, accounting, order] = await Promise.all([
    run(t, consumerService),
    run(t, kitchenService),
    run(t, accountingService),
    run(t, orderService),
  ]);
  const events = await brokers.listen(t, 'Order');
  const publish = await brokers.publisher(t);
  publish('Restaurant', 'RestaurantCreated', { id: 1, name: 'My Restaurant', menu });
  for (const service of [kitchen, order])
    await waitFor(async () => (await call(service, 'GET', '/restaurants/1')).status === 200, {
      what: 'replicated',
    });
  const { consumerId } = (
    await call(consumer, 'POST', '/consumers', { name: { firstName: 'John', lastName: 'Doe' } })
  ).body as { consumerId: number };
  await waitFor(async () => (await call(accounting, 'GET', `/accounts/${consumerId}`)).status === 200, {
    what: 'the account opened',
  });

  const place = async (quantity: number, who = consumerId) => {
    const placed = await call(order, 'POST', '/orders', {
      consumerId: who,
      restaurantId: 1,
      deliveryAddress: { street1: '9 Amazing View', city: 'Oakland', state: 'CA', zip: '94612' },
      deliveryTime: [2026, 12, 24, 19, 0, 0],
      lineItems: [{ menuItemId: '1', quantity }],
    });
    t.equal(placed.status, 200, `order of ${quantity} placed`);
    return placed.body.orderId as number;
  };
  const stateBecomes = (orderId: number, state: string) =>
    waitFor(async () => (await call(order, 'GET', `/orders/${orderId}`)).body.state === state, {
      timeoutMs: 20_000,
      what: `order ${orderId} ${state}`,
    });
  const ticketState = async (orderId: number) =>
    (await call(kitchen, 'GET', `/tickets/${orderId}`)).body.state;

  const approved = await place(5);
  t.equal(
    (await call(order, 'GET', `/orders/${approved}`)).body.state,
    'APPROVAL_PENDING',
    'pending at first',
  );
  await stateBecomes(approved, 'APPROVED');
  t.match((await call(order, 'GET', `/orders/${approved}`)).body, {
    orderId: approved,
    orderTotal: '61.70',
    consumerId,
    restaurantName: 'My Restaurant',
    lineItems: [{ menuItemId: '1', name: 'Chicken Vindaloo', price: '12.34', quantity: 5 }],
    deliveryTime: '2026-12-24T19:00:00',
  });
  t.equal(await ticketState(approved), 'AWAITING_ACCEPTANCE');
  t.match((await call(accounting, 'GET', `/bills/${approved}`)).body, {
    amount: '61.70',
    state: 'AUTHORIZED',
  });

  const revise = { revisedOrderLineItems: [{ quantity: 10, menuItemId: '1' }] };
  t.equal((await call(order, 'POST', `/orders/${approved}/revise`, revise)).status, 200, 'revise accepted');
  t.equal((await call(order, 'POST', `/orders/${approved}/cancel`, {})).status, 409, 'locked while revising');
  await waitFor(async () => (await call(order, 'GET', `/orders/${approved}`)).body.orderTotal === '123.40', {
    what: 'the revised total',
  });
  t.equal((await call(order, 'GET', `/orders/${approved}`)).body.state, 'APPROVED');
  t.equal((await call(accounting, 'GET', `/bills/${approved}`)).body.amount, '123.40');
  const badRevision = { revisedOrderLineItems: [{ quantity: 1, menuItemId: '9' }] };
  t.equal(
    (await call(order, 'POST', `/orders/${approved}/revise`, badRevision)).status,
    400,
    'not in the order',
  );

  t.equal((await call(order, 'POST', `/orders/${approved}/cancel`, {})).status, 200, 'cancel accepted');
  await stateBecomes(approved, 'CANCELLED');
  t.equal(await ticketState(approved), 'CANCELLED');
  t.equal((await call(accounting, 'GET', `/bills/${approved}`)).body.state, 'REVERSED');
  t.equal((await call(order, 'POST', `/orders/${approved}/cancel`, {})).status, 409, 'cancelled already');

  const declined = await place(100);
  await stateBecomes(declined, 'REJECTED');
  t.equal(await ticketState(declined), 'CANCELLED', 'the ticket compensated (CancelCreateTicket)');
  t.equal((await call(accounting, 'GET', `/bills/${declined}`)).status, 404, 'nothing charged');

  const stranger = await place(1, 999_999);
  await stateBecomes(stranger, 'REJECTED');
  t.equal(
    (await call(kitchen, 'GET', `/tickets/${stranger}`)).status,
    404,
    'no ticket for an unknown consumer',
  );

  // The kitchen is cooking: Cancel's first step fails, the saga ends and the order stands.
  const cooking = await place(2);
  await stateBecomes(cooking, 'APPROVED');
  t.equal(
    (await call(kitchen, 'POST', `/tickets/${cooking}/accept`, { readyBy: '2026-12-24T18:30:00' })).status,
    200,
  );
  t.equal((await call(kitchen, 'POST', `/tickets/${cooking}/preparing`)).status, 200);
  t.equal((await call(order, 'POST', `/orders/${cooking}/cancel`, {})).status, 200);
  t.equal((await call(order, 'GET', `/orders/${cooking}`)).body.state, 'CANCEL_PENDING');
  await stateBecomes(cooking, 'APPROVED');
  t.equal((await call(accounting, 'GET', `/bills/${cooking}`)).body.state, 'AUTHORIZED', 'not reversed');

  const unknownItem = { consumerId, restaurantId: 1, lineItems: [{ menuItemId: '7', quantity: 1 }] };
  t.match(await call(order, 'POST', '/orders', unknownItem), {
    status: 400,
    body: { message: /menu item 7/ },
  });
  t.equal((await call(order, 'POST', '/orders', { ...unknownItem, restaurantId: 5 })).status, 400);
  t.equal((await call(order, 'GET', '/orders/123456')).status, 404);

  await waitFor(() => events.filter((e) => e.type === 'OrderCancelled').length === 1, {
    what: 'OrderCancelled',
  });
  const ofApproved = events.filter((e) => e.payload.orderId === approved).map((e) => e.type);
  t.same(
    ofApproved,
    ['OrderCreated', 'OrderApproved', 'OrderRevised', 'OrderCancelled'],
    'its events, in order',
  );
  t.match(
    events.find((e) => e.type === 'OrderCreated'),
    {
      payload: {
        consumerId,
        restaurantId: 1,
        restaurantName: 'My Restaurant',
        orderTotal: '61.70',
        state: 'APPROVAL_PENDING',
      },
    },
  );
  t.match(
    events.find((e) => e.type === 'OrderRevised'),
    { payload: { consumerId, orderTotal: '123.40' } },
  );
});

t.test('killed while its saga waits for Kitchen, restarted: the saga completes once', async (t) => {
  const [consumer, accounting] = await Promise.all([run(t, consumerService), run(t, accountingService)]);
  const kitchenEnv = { ...(await brokers.serviceEnv('ftgo_kitchen')), LOG_LEVEL: 'error' };
  const orderEnv = await brokers.serviceEnv('ftgo_order');
  const main = join(distDir, 'examples/ftgo/order-service/src/main.js');
  const events = await brokers.listen(t, 'Order');
  const publish = await brokers.publisher(t);
  // Kitchen's queues exist (so commands wait there) but Kitchen is down while the order is placed.
  const kitchenOnce = await startService(
    kitchenService,
    loadConfig('kitchen-service', { port: 0, database: 'unused' }, kitchenEnv),
  );
  publish('Restaurant', 'RestaurantCreated', { id: 2, name: 'Late Kitchen', menu });
  await waitFor(async () => (await call(kitchenOnce, 'GET', '/restaurants/2')).status === 200, {
    what: 'replicated',
  });
  await kitchenOnce.close();

  let proc = spawnNode(t, main, [], { env: orderEnv });
  let base = await readyAddress(proc);
  await waitFor(async () => (await fetch(`${base}/restaurants/2`)).status === 200, { what: 'order replica' });
  const { consumerId } = (
    await call(consumer, 'POST', '/consumers', { name: { firstName: 'A', lastName: 'B' } })
  ).body as { consumerId: number };
  await waitFor(async () => (await call(accounting, 'GET', `/accounts/${consumerId}`)).status === 200, {
    what: 'the account opened',
  });
  const placed = await fetch(`${base}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ consumerId, restaurantId: 2, lineItems: [{ menuItemId: '1', quantity: 3 }] }),
  });
  const { orderId } = (await placed.json()) as { orderId: number };
  // The consumer verified, CreateTicket is waiting in Kitchen's queue: the saga is at its second step.
  const db = await (await import('mysql2/promise')).createConnection({
    host: '127.0.0.1',
    port: Number(orderEnv.MYSQL_PORT),
    user: 'root',
    password: orderEnv.MYSQL_PASSWORD,
    database: orderEnv.MYSQL_DATABASE,
  });
  t.teardown(() => db.end());
  const step = async () => {
    const [rows] = await db.query('SELECT step FROM saga_instances');
    return (rows as { step: number }[])[0]?.step;
  };
  await waitFor(async () => (await step()) === 1, { what: 'the saga waiting for CreateTicket' });
  proc.signal('SIGKILL');
  await proc.exited;

  await run(t, kitchenService, kitchenEnv);
  proc = spawnNode(t, main, [], { env: orderEnv });
  base = await readyAddress(proc);
  await waitFor(
    async () =>
      ((await (await fetch(`${base}/orders/${orderId}`)).json()) as { state: string }).state === 'APPROVED',
    {
      timeoutMs: 30_000,
      what: 'the saga completed after the restart',
    },
  );
  t.equal(
    (await call(accounting, 'GET', `/bills/${orderId}`)).body.amount,
    '37.02',
    'charged once, 3 x 12.34',
  );
  await waitFor(() => events.some((e) => e.type === 'OrderApproved'), { what: 'OrderApproved' });
  t.same(
    events.filter((e) => e.payload.orderId === orderId).map((e) => e.type),
    ['OrderCreated', 'OrderApproved'],
    'each event once',
  );
  // A reply delivered again with a new message id (a participant that crashed before its ack) changes nothing.
  const [sagas] = await db.query('SELECT id FROM saga_instances');
  const sagaId = (sagas as { id: string }[])[0]?.id as string;
  publish('orderService.replies', 'Success', {}, { correlationId: sagaId });
  await proc.waitForLog('reply for no running saga ignored');
  t.equal(((await (await fetch(`${base}/orders/${orderId}`)).json()) as { state: string }).state, 'APPROVED');
  t.same(await proc.stop(), { code: 0, signal: null }, 'SIGTERM stops it cleanly');
  t.same(
    events.filter((e) => e.payload.orderId === orderId).map((e) => e.type),
    ['OrderCreated', 'OrderApproved'],
    'still each event once',
  );
});

t.test('kitchen and accounting answered from the test: locked while in flight, a reply twice', async (t) => {
  const kitchenCommands = await brokers.listen(t, 'kitchenService');
  const accountingCommands = await brokers.listen(t, 'accountingService');
  const publish = await brokers.publisher(t);
  const [order, consumer] = await Promise.all([run(t, orderService), run(t, consumerService)]);
  publish('Restaurant', 'RestaurantCreated', { id: 3, name: 'Stand-in Kitchen', menu });
  await waitFor(async () => (await call(order, 'GET', '/restaurants/3')).status === 200, {
    what: 'replicated',
  });
  const { consumerId } = (
    await call(consumer, 'POST', '/consumers', { name: { firstName: 'John', lastName: 'Doe' } })
  ).body as { consumerId: number };
  const { orderId } = (
    await call(order, 'POST', '/orders', {
      consumerId,
      restaurantId: 3,
      deliveryAddress: { street1: '9 Amazing View', city: 'Oakland', state: 'CA', zip: '94612' },
      deliveryTime: '2026-12-24T19:00:00',
      lineItems: [{ menuItemId: '1', quantity: 5 }],
    })
  ).body as { orderId: number };
  const typesOf = (received: Received[]) =>
    received.filter((c) => c.payload.orderId === orderId).map((c) => c.type);
  const nth = async (received: Received[], count: number) => {
    await waitFor(() => typesOf(received).length >= count, { timeoutMs: 20_000, what: `command ${count}` });
    return received.filter((c) => c.payload.orderId === orderId)[count - 1] as Received;
  };
  const createTicket = await nth(kitchenCommands, 1);
  t.equal(createTicket.type, 'CreateTicket');
  const reply = (type: string, payload: Record<string, unknown> = {}, messageId?: string) =>
    publish('orderService.replies', type, payload, {
      correlationId: String(createTicket.correlationId),
      ...(messageId ? { messageId } : {}),
    });

  // The saga waits for Kitchen's reply, which the test holds back: the order stays locked.
  t.equal((await call(order, 'POST', `/orders/${orderId}/cancel`, {})).status, 409, 'no cancel in flight');
  t.equal(
    (
      await call(order, 'POST', `/orders/${orderId}/revise`, {
        revisedOrderLineItems: [{ menuItemId: '1', quantity: 1 }],
      })
    ).status,
    409,
    'no revision in flight',
  );

  const messageId = randomUUID();
  reply('Success', { ticketId: orderId }, messageId);
  reply('Success', { ticketId: orderId }, messageId);
  t.match(await nth(accountingCommands, 1), { type: 'AuthorizeCommand', payload: { orderTotal: '61.70' } });
  // Replies are handled in order: this one comes after both copies, so the duplicate has been seen.
  reply('Failure', { reason: 'card declined' });
  t.match(await nth(kitchenCommands, 2), { type: 'CancelCreateTicket' });
  reply('Success');
  await waitFor(async () => (await call(order, 'GET', `/orders/${orderId}`)).body.state === 'REJECTED', {
    what: 'REJECTED',
  });
  t.same(
    typesOf(kitchenCommands),
    ['CreateTicket', 'CancelCreateTicket'],
    'the duplicate Success did not move the saga on to ConfirmCreateTicket',
  );
  t.same(typesOf(accountingCommands), ['AuthorizeCommand']);
});
