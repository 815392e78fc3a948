import { join } from 'node:path';
import t from 'tap';
import { distDir, spawnNode } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';
import { loadConfig } from '../../common/src/config.js';
import { startService } from '../../common/src/service.js';
import { ftgoBrokers, readyAddress } from '../../common/test/support/brokers.js';
import { deliveryService } from '../src/service.js';

const brokers = ftgoBrokers(t);
const serviceEnv = () => brokers.serviceEnv('ftgo_delivery');

const restaurantAddress = { street1: '1 Main Street', city: 'Oakland', state: 'CA', zip: '94611' };
const consumerAddress = { street1: '9 Elm Street', city: 'Oakland', state: 'CA', zip: '94612' };

interface DeliveryStatus {
  deliveryInfo: { id: number; state: string };
  assignedCourier: number | null;
  courierActions: { type: string; deliveryId: number; address: unknown; time: string | null }[];
}

t.test('deliveries from events; least busy courier; picked up, delivered', async (t) => {
  const service = await startService(
    deliveryService,
    loadConfig(
      'delivery-service',
      { port: 8089, database: 'x' },
      { ...(await serviceEnv()), LOG_LEVEL: 'warn' },
    ),
  );
  t.teardown(() => service.close());
  const { app } = service;
  const publish = await brokers.publisher(t);
  const delivery = async (orderId: number) =>
    (await app.inject({ method: 'GET', url: `/deliveries/${orderId}` })).json() as DeliveryStatus;
  const stateOf = async (orderId: number) => {
    const response = await app.inject({ method: 'GET', url: `/deliveries/${orderId}` });
    return response.statusCode === 200 ? (response.json() as DeliveryStatus).deliveryInfo.state : undefined;
  };
  const available = (courierId: number, value: unknown) =>
    app.inject({ method: 'POST', url: `/couriers/${courierId}/availability`, payload: { available: value } });
  const orderCreated = (orderId: number, extra: object = {}) =>
    publish('Order', 'OrderCreated', {
      orderId,
      consumerId: 7,
      restaurantId: 1,
      restaurantName: 'Ajanta',
      deliveryAddress: consumerAddress,
      deliveryTime: '2026-12-04T20:30:00',
      lineItems: [{ menuItemId: '1', name: 'Samosa', price: '5.50', quantity: 2 }],
      orderTotal: '11.00',
      state: 'APPROVAL_PENDING',
      ...extra,
    });
  const ticketAccepted = (orderId: number, messageId?: string) =>
    publish(
      'Ticket',
      'TicketAccepted',
      { orderId, restaurantId: 1, readyBy: [2026, 12, 4, 20, 5] },
      messageId === undefined ? {} : { messageId },
    );

  publish('Restaurant', 'RestaurantCreated', {
    id: 1,
    name: 'Ajanta',
    address: restaurantAddress,
    menu: { menuItems: [] },
  });

  await t.test(
    'no courier yet: the accepted delivery stays PENDING until one becomes available',
    async (t) => {
      orderCreated(101);
      await waitFor(async () => (await stateOf(101)) === 'PENDING', { what: 'delivery 101 PENDING' });
      t.same(await delivery(101), {
        deliveryInfo: { id: 101, state: 'PENDING' },
        assignedCourier: null,
        courierActions: [],
      });
      const accepted = ticketAccepted(101);
      ticketAccepted(101, accepted);
      // One queue in order: once 102 exists, both copies of the TicketAccepted of 101 were handled.
      orderCreated(102);
      await waitFor(async () => (await stateOf(102)) === 'PENDING', { what: 'delivery 102' });
      t.equal(await stateOf(101), 'PENDING', 'accepted, but no courier is available');

      const courier = Date.now();
      t.equal((await available(courier, true)).statusCode, 200, 'an unknown courier is created');
      const scheduled = await delivery(101);
      t.same(scheduled, {
        deliveryInfo: { id: 101, state: 'SCHEDULED' },
        assignedCourier: courier,
        courierActions: [
          { type: 'PICKUP', deliveryId: 101, address: restaurantAddress, time: '2026-12-04T20:05:00' },
          { type: 'DROPOFF', deliveryId: 101, address: consumerAddress, time: '2026-12-04T20:30:00' },
        ],
      });
      t.ok(courier > 2 ** 31, 'a currentTimeMillis id comes back as the same JSON number');
      t.equal(await stateOf(102), 'PENDING', 'its ticket is not accepted yet');
      t.match((await app.inject({ method: 'GET', url: `/couriers/${courier}` })).json(), {
        courierId: courier,
        available: true,
        plan: [
          { type: 'PICKUP', deliveryId: 101 },
          { type: 'DROPOFF', deliveryId: 101 },
        ],
      });

      const second = courier + 1;
      t.equal((await available(second, true)).statusCode, 200);
      ticketAccepted(102);
      await waitFor(async () => (await stateOf(102)) === 'SCHEDULED', { what: 'delivery 102 scheduled' });
      t.equal((await delivery(102)).assignedCourier, second, 'the least busy courier takes it');

      await t.test('picked up and delivered in order; 409 out of order, 404 unknown', async (t) => {
        const step = (orderId: number, what: string) =>
          app.inject({ method: 'POST', url: `/deliveries/${orderId}/${what}` });
        const early = await step(101, 'delivered');
        t.equal(early.statusCode, 409, 'delivered before it was picked up');
        t.match(early.json(), { message: /SCHEDULED/ });
        const picked = await step(101, 'pickedup');
        t.equal(picked.statusCode, 200);
        t.match(picked.json(), { deliveryInfo: { id: 101, state: 'PICKED_UP' }, assignedCourier: courier });
        t.equal((await step(101, 'pickedup')).statusCode, 409, 'picked up twice');
        t.match((await step(101, 'delivered')).json(), { deliveryInfo: { state: 'DELIVERED' } });
        t.equal((await step(101, 'delivered')).statusCode, 409, 'delivered twice');
        t.equal((await step(999, 'pickedup')).statusCode, 404);
        t.equal((await app.inject({ method: 'GET', url: '/deliveries/999' })).statusCode, 404);
        t.equal((await app.inject({ method: 'GET', url: '/couriers/999' })).statusCode, 404);
        t.same((await app.inject({ method: 'GET', url: `/couriers/${courier}` })).json().plan, [], 'done');
      });

      await t.test('bad requests get 400 and change nothing', async (t) => {
        t.equal((await available(courier, 'yes')).statusCode, 400, 'available not a boolean');
        const missing = await app.inject({
          method: 'POST',
          url: `/couriers/${courier}/availability`,
          payload: {},
        });
        t.equal(missing.statusCode, 400);
        t.match(missing.json(), { message: /available/ });
        t.equal((await available(0, true)).statusCode, 400, 'courier id 0');
        t.equal((await app.inject({ method: 'GET', url: '/deliveries/abc' })).statusCode, 400);
        t.equal((await app.inject({ method: 'GET', url: '/couriers/999' })).statusCode, 404, 'none created');
      });

      await t.test('cancelled orders cancel their delivery and free the courier', async (t) => {
        orderCreated(103);
        ticketAccepted(103);
        await waitFor(async () => (await stateOf(103)) === 'SCHEDULED', { what: 'delivery 103 scheduled' });
        t.equal(
          (await delivery(103)).assignedCourier,
          courier,
          'the courier who delivered 101 is free again',
        );
        publish('Order', 'OrderCancelled', { orderId: 103, consumerId: 7, state: 'CANCELLED' });
        await waitFor(async () => (await stateOf(103)) === 'CANCELLED', { what: 'delivery 103 cancelled' });
        t.same(await delivery(103), {
          deliveryInfo: { id: 103, state: 'CANCELLED' },
          assignedCourier: null,
          courierActions: [],
        });
        t.same((await app.inject({ method: 'GET', url: `/couriers/${courier}` })).json().plan, []);
        t.equal((await app.inject({ method: 'POST', url: '/deliveries/103/pickedup' })).statusCode, 409);

        // Cancelled before its OrderCreated arrived: the late OrderCreated and TicketAccepted do not revive it.
        publish('Order', 'OrderCancelled', { orderId: 104, consumerId: 7, state: 'CANCELLED' });
        orderCreated(104);
        ticketAccepted(104);
        orderCreated(105);
        await waitFor(async () => (await stateOf(105)) === 'PENDING', { what: 'delivery 105' });
        t.equal(await stateOf(104), 'CANCELLED');
        t.equal((await delivery(104)).assignedCourier, null);
      });

      await t.test(
        'a ticket accepted before its OrderCreated and its restaurant still ends scheduled',
        async (t) => {
          ticketAccepted(106);
          orderCreated(107);
          await waitFor(async () => (await stateOf(107)) === 'PENDING', { what: 'delivery 107' });
          t.equal(
            (await app.inject({ method: 'GET', url: '/deliveries/106' })).statusCode,
            404,
            'no order yet',
          );
          orderCreated(106, { restaurantId: 2 });
          await waitFor(async () => (await stateOf(106)) === 'SCHEDULED', { what: 'delivery 106 scheduled' });
          t.match(
            (await delivery(106)).courierActions,
            [{ type: 'PICKUP', address: null }],
            'restaurant unknown',
          );
          publish('Restaurant', 'RestaurantCreated', { id: 2, name: 'Late', address: { city: 'Berkeley' } });
          await waitFor(async () => (await delivery(106)).courierActions[0]?.address !== null, {
            what: 'the pickup address',
          });
          t.same((await delivery(106)).courierActions[0]?.address, { city: 'Berkeley' });
          // A redelivered OrderCreated (a new message id) does not reset the scheduled delivery.
          orderCreated(106, { restaurantId: 2 });
          orderCreated(108);
          await waitFor(async () => (await stateOf(108)) === 'PENDING', { what: 'delivery 108' });
          t.equal(await stateOf(106), 'SCHEDULED');
        },
      );
    },
  );
});

t.test('as a process: a courier with a currentTimeMillis id is assigned; SIGTERM stops it', async (t) => {
  const proc = spawnNode(t, join(distDir, 'examples/ftgo/delivery-service/src/main.js'), [], {
    env: await serviceEnv(),
  });
  const base = await readyAddress(proc);
  const courier = Date.now();
  const availability = await fetch(`${base}/couriers/${courier}/availability`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ available: true }),
  });
  t.equal(availability.status, 200);
  const publish = await brokers.publisher(t);
  publish('Restaurant', 'RestaurantCreated', { id: 3, name: 'Ajanta', address: restaurantAddress });
  publish('Order', 'OrderCreated', {
    orderId: 301,
    consumerId: 7,
    restaurantId: 3,
    deliveryAddress: consumerAddress,
    deliveryTime: [2026, 12, 4, 21, 0],
  });
  const accepted = { orderId: 301, restaurantId: 3, readyBy: '2026-12-04T20:40:00' };
  const messageId = publish('Ticket', 'TicketAccepted', accepted);
  publish('Ticket', 'TicketAccepted', accepted, { messageId });
  let status: DeliveryStatus | undefined;
  await waitFor(
    async () => {
      status = (await (await fetch(`${base}/deliveries/301`)).json()) as DeliveryStatus;
      return status.deliveryInfo?.state === 'SCHEDULED';
    },
    { timeoutMs: 20_000, what: 'delivery 301 scheduled' },
  );
  t.equal(status?.assignedCourier, courier);
  t.same(
    status?.courierActions.map((action) => [action.type, action.time]),
    [
      ['PICKUP', '2026-12-04T20:40:00'],
      ['DROPOFF', '2026-12-04T21:00:00'],
    ],
  );
  t.match(await proc.waitForLog('duplicate message ignored'), { messageId, type: 'TicketAccepted' });
  t.equal((await fetch(`${base}/readyz`)).status, 200);
  t.same(await proc.stop(), { code: 0, signal: null });
});
