import { join } from 'node:path';
import t from 'tap';
import { distDir, spawnNode, type Teardown } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';
import { loadConfig } from '../../common/src/config.js';
import { startService } from '../../common/src/service.js';
import { ftgoBrokers, type PublishOptions, readyAddress } from '../../common/test/support/brokers.js';
import { orderHistoryService } from '../src/service.js';

const brokers = ftgoBrokers(t);
const serviceEnv = () => brokers.serviceEnv('ftgo_order_history');

/** Order events as the order service's outbox sends them (that service is being built elsewhere). */
async function orderEvents(t: Teardown) {
  const publish = await brokers.publisher(t);
  return (type: string, payload: { orderId: number; [field: string]: unknown }, options?: PublishOptions) =>
    publish('Order', type, payload, options);
}

const lines = [{ menuItemId: '1', name: 'Chicken Vindaloo', price: '12.34', quantity: 2 }];

function created(orderId: number, consumerId: number, restaurantName = 'Ajanta') {
  return {
    orderId,
    consumerId,
    restaurantId: 1,
    restaurantName,
    deliveryAddress: { street1: '9 Elm Street' },
    deliveryTime: '2026-12-04T20:30:00',
    lineItems: lines,
    orderTotal: '24.68',
    state: 'APPROVAL_PENDING',
  };
}

interface HistoryOrder {
  orderId: number;
  status: string;
  restaurantId: number;
  restaurantName: string;
  orderTotal: string;
  lineItems: unknown[];
  creationDate: string;
}

t.test('the order history view from Order events', async (t) => {
  const service = await startService(
    orderHistoryService,
    loadConfig(
      'order-history-service',
      { port: 8086, database: 'x' },
      { ...(await serviceEnv()), LOG_LEVEL: 'warn' },
    ),
  );
  t.teardown(() => service.close());
  const { app } = service;
  const publish = await orderEvents(t);
  const history = async (consumerId: number) =>
    (
      (await app.inject({ method: 'GET', url: `/orders?consumerId=${consumerId}` })).json() as {
        orders: HistoryOrder[];
      }
    ).orders;
  const order = async (orderId: number) => {
    const response = await app.inject({ method: 'GET', url: `/orders/${orderId}` });
    return response.statusCode === 200 ? (response.json() as HistoryOrder) : undefined;
  };
  /** Events of one queue are handled in order: once `orderId` is listed, everything before it was handled. */
  const handledUpTo = async (orderId: number) => {
    publish('OrderCreated', created(orderId, 999), { eventId: orderId });
    await waitFor(async () => (await order(orderId)) !== undefined, { what: `order ${orderId} in the view` });
  };

  await t.test('created, approved, revised, cancelled; newest first; late events ignored', async (t) => {
    publish('OrderCreated', created(1, 10), { eventId: 1 });
    await waitFor(async () => (await history(10)).length === 1, { what: 'order 1 listed' });
    const [first] = await history(10);
    t.match(first, {
      orderId: 1,
      status: 'APPROVAL_PENDING',
      restaurantId: 1,
      restaurantName: 'Ajanta',
      orderTotal: '24.68',
      lineItems: lines,
    });
    t.ok(Date.parse(first?.creationDate ?? '') > Date.now() - 600_000, 'creationDate is when it was created');
    t.same(await order(1), first, 'GET /orders/:orderId is the same record');

    publish('OrderApproved', { orderId: 1, consumerId: 10, state: 'APPROVED' }, { eventId: 3 });
    await waitFor(async () => (await order(1))?.status === 'APPROVED', { what: 'order 1 APPROVED' });
    const revised = [{ menuItemId: '1', name: 'Chicken Vindaloo', price: '12.34', quantity: 5 }];
    publish(
      'OrderRevised',
      { orderId: 1, consumerId: 10, lineItems: revised, orderTotal: '61.70', state: 'APPROVED' },
      { eventId: 5 },
    );
    await waitFor(async () => (await order(1))?.orderTotal === '61.70', { what: 'order 1 revised' });
    t.same((await order(1))?.lineItems, revised);

    publish('OrderCreated', created(2, 10, 'Bombay Bistro'), { eventId: 6 });
    await waitFor(async () => (await history(10)).length === 2, { what: 'order 2 listed' });
    const [newest, oldest] = await history(10);
    t.match(
      [newest, oldest],
      [{ orderId: 2, restaurantName: 'Bombay Bistro' }, { orderId: 1 }],
      'newest first',
    );

    publish('OrderCancelled', { orderId: 1, consumerId: 10, state: 'CANCELLED' }, { eventId: 8 });
    await waitFor(async () => (await order(1))?.status === 'CANCELLED', { what: 'order 1 CANCELLED' });
    // A late OrderApproved (an older eventId) and one from a sender without eventIds: still CANCELLED.
    publish('OrderApproved', { orderId: 1, consumerId: 10, state: 'APPROVED' }, { eventId: 4 });
    publish('OrderApproved', { orderId: 1, consumerId: 10, state: 'APPROVED' });
    // A late revision must not bring its old lines back either.
    publish(
      'OrderRevised',
      { orderId: 1, consumerId: 10, lineItems: lines, orderTotal: '24.68', state: 'APPROVED' },
      { eventId: 7 },
    );
    await handledUpTo(100);
    t.match(await order(1), { status: 'CANCELLED', orderTotal: '61.70', lineItems: revised });
    t.same(
      (await history(10)).map((o) => [o.orderId, o.status]),
      [
        [2, 'APPROVAL_PENDING'],
        [1, 'CANCELLED'],
      ],
    );
    t.same(await history(11), [], 'another consumer has none');
  });

  await t.test(
    'a duplicate changes nothing: the same message id, or an older copy of an event',
    async (t) => {
      const revisedTo = (quantity: number, total: string, sent: PublishOptions) =>
        publish(
          'OrderRevised',
          {
            orderId: 2,
            consumerId: 10,
            lineItems: [{ ...lines[0], quantity }],
            orderTotal: total,
            state: 'APPROVED',
          },
          sent,
        );
      publish('OrderApproved', { orderId: 2, consumerId: 10, state: 'APPROVED' }, { eventId: 9 });
      const first = revisedTo(3, '37.02', { eventId: 10 });
      revisedTo(4, '49.36', { eventId: 11 });
      revisedTo(3, '37.02', { eventId: 10, messageId: first });
      revisedTo(3, '37.02', { eventId: 10 });
      await handledUpTo(101);
      t.match(await order(2), { status: 'APPROVED', orderTotal: '49.36', lineItems: [{ quantity: 4 }] });
    },
  );

  await t.test(
    'events before their OrderCreated: listed once it arrives, with the later status',
    async (t) => {
      publish('OrderApproved', { orderId: 3, consumerId: 12, state: 'APPROVED' }, { eventId: 21 });
      await handledUpTo(102);
      t.equal(await order(3), undefined, 'not listed before its OrderCreated');
      t.same(await history(12), []);
      publish('OrderCreated', created(3, 12), { eventId: 20 });
      await waitFor(async () => (await history(12)).length === 1, { what: 'order 3 listed' });
      t.match(await order(3), {
        status: 'APPROVED',
        restaurantName: 'Ajanta',
        orderTotal: '24.68',
        lineItems: lines,
      });

      publish('OrderCancelled', { orderId: 4, consumerId: 12, state: 'CANCELLED' });
      publish('OrderCreated', created(4, 12));
      await waitFor(async () => (await history(12)).length === 2, { what: 'order 4 listed' });
      t.match(await order(4), { status: 'CANCELLED', restaurantName: 'Ajanta' }, 'without eventIds as well');
    },
  );

  await t.test('bad requests: 400; unknown order: 404', async (t) => {
    const noConsumer = await app.inject({ method: 'GET', url: '/orders' });
    t.equal(noConsumer.statusCode, 400);
    t.match(noConsumer.json(), { message: /consumerId/ });
    t.equal((await app.inject({ method: 'GET', url: '/orders?consumerId=abc' })).statusCode, 400);
    t.equal((await app.inject({ method: 'GET', url: '/orders/abc' })).statusCode, 400);
    const unknown = await app.inject({ method: 'GET', url: '/orders/424242' });
    t.equal(unknown.statusCode, 404);
    t.match(unknown.json(), { message: /424242/ });
  });
});

t.test('as a process: the view as the original e2e reads it; SIGTERM stops it', async (t) => {
  const proc = spawnNode(t, join(distDir, 'examples/ftgo/order-history-service/src/main.js'), [], {
    env: await serviceEnv(),
  });
  const base = await readyAddress(proc);
  const publish = await orderEvents(t);
  const consumerId = Date.now();
  const messageId = publish('OrderCreated', created(501, consumerId), { eventId: 1 });
  publish('OrderCreated', created(501, consumerId), { eventId: 1, messageId });
  publish('OrderApproved', { orderId: 501, consumerId, state: 'APPROVED' }, { eventId: 2 });
  let orders: HistoryOrder[] = [];
  await waitFor(
    async () => {
      ({ orders } = (await (await fetch(`${base}/orders?consumerId=${consumerId}`)).json()) as {
        orders: HistoryOrder[];
      });
      return orders[0]?.status === 'APPROVED';
    },
    { timeoutMs: 20_000, what: 'order 501 APPROVED in the history' },
  );
  t.equal(orders.length, 1);
  t.equal(orders[0]?.restaurantName, 'Ajanta');
  t.match(await proc.waitForLog('duplicate message ignored'), { messageId, type: 'OrderCreated' });
  t.same(await proc.stop(), { code: 0, signal: null });
});
