/**
 * The original project's end-to-end scenarios (ftgo-end-to-end-tests: create, revise and cancel an order;
 * deliver an order) with their HTTP calls unchanged (paths, bodies, ports, the Jackson date arrays),
 * against `npm run demo:ftgo`: every service a real process, one private MariaDB, one private RabbitMQ.
 * Then what the issue adds across services: picked up and delivered, and a declined card compensated.
 */

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { distDir, spawnNode } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';
import { call } from '../../common/test/support/json-call.js';

/** The original's Eventually: the check passes within the time, or the last failure is the test's. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  await waitFor(
    async () => {
      try {
        return await check();
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, what },
  );
}

/** `LocalDateTime` as Jackson writes it without WRITE_DATES_AS_TIMESTAMPS disabled: a number array. */
function localDateTime(date: Date): number[] {
  return [
    date.getFullYear(),
    date.getMonth() + 1,
    date.getDate(),
    date.getHours(),
    date.getMinutes(),
    date.getSeconds(),
  ];
}

const restaurantName = 'My Restaurant';
const chickenVindaloo = '1';

t.test('the original end-to-end scenarios against npm run demo:ftgo', async (t) => {
  const demo = spawnNode(t, join(distDir, 'scripts', 'demo-ftgo.js'), []);
  try {
    await waitFor(() => demo.text.includes('demo:ftgo ready'), {
      timeoutMs: 180_000,
      what: `demo:ftgo ready\n${demo.transcript()}`,
    });
    const urls = new Map(
      [...demo.text.join('\n').matchAll(/^ftgo: (\S+) (http:\/\/\S+)$/gm)].map((m) => [m[1], m[2]]),
    );
    const url = (name: string) => {
      const found = urls.get(name);
      if (!found) throw new Error(`the banner does not say where ${name} is`);
      return found;
    };
    const [consumer, order, kitchen, restaurant, accounting, gateway, delivery] = [
      'consumer-service',
      'order-service',
      'kitchen-service',
      'restaurant-service',
      'accounting-service',
      'api-gateway',
      'delivery-service',
    ].map(url) as [string, string, string, string, string, string, string];

    /** createOrder() of the original: consumer, account, restaurant replicated twice, order APPROVED. */
    const createOrder = async (t: Test, quantity = 5) => {
      const created = await call('POST', `${consumer}/consumers`, {
        name: { firstName: 'John', lastName: 'Doe' },
      });
      t.equal(created.status, 200, 'consumer created');
      const consumerId = created.body.consumerId as number;
      await eventually('the account created for the consumer', async () => {
        return (await call('GET', `${accounting}/accounts/${consumerId}`)).status === 200;
      });
      const menu = { menuItems: [{ id: chickenVindaloo, name: 'Chicken Vindaloo', price: '12.34' }] };
      const address = {
        street1: '1 Main Street',
        street2: 'Unit 99',
        city: 'Oakland',
        state: 'CA',
        zip: '94611',
      };
      const made = await call('POST', `${restaurant}/restaurants`, { name: restaurantName, address, menu });
      t.equal(made.status, 200, 'restaurant created');
      const restaurantId = made.body.id as number;
      for (const [name, base] of [
        ['kitchen', kitchen],
        ['order', order],
      ] as const) {
        await eventually(`the restaurant replicated in ${name}`, async () => {
          return (await call('GET', `${base}/restaurants/${restaurantId}`)).status === 200;
        });
      }
      const placed = await call('POST', `${gateway}/orders`, {
        consumerId,
        restaurantId,
        deliveryAddress: {
          street1: '9 Amazing View',
          street2: null,
          city: 'Oakland',
          state: 'CA',
          zip: '94612',
        },
        deliveryTime: localDateTime(new Date()),
        lineItems: [{ menuItemId: chickenVindaloo, quantity }],
      });
      t.equal(placed.status, 200, 'order placed through the gateway');
      const orderId = placed.body.orderId as number;
      t.ok(orderId > 0, 'an order id');
      return { consumerId, restaurantId, orderId };
    };
    const stateOf = async (orderId: number) =>
      ((await call('GET', `${gateway}/orders/${orderId}`)).body.orderInfo as { state?: string } | undefined)
        ?.state;
    const history = async (consumerId: number) =>
      (await call('GET', `${gateway}/orders?consumerId=${consumerId}`)).body.orders as
        | { orderId: number; status: string; restaurantName: string }[]
        | undefined;
    const historyShows = (consumerId: number, orderId: number, status: string) =>
      eventually(`order history: ${status}`, async () => {
        const first = (await history(consumerId))?.[0];
        return (
          first?.orderId === orderId && first.status === status && first.restaurantName === restaurantName
        );
      });

    await t.test('shouldCreateReviseAndCancelOrder', async (t) => {
      const { consumerId, orderId } = await createOrder(t);
      await eventually('verifyOrderApproved', async () => (await stateOf(orderId)) === 'APPROVED');
      await historyShows(consumerId, orderId, 'APPROVED');
      t.equal(
        (await call('GET', `${order}/orders/${orderId}`)).body.orderTotal,
        '61.70',
        '5 x 12.34 as a decimal string',
      );

      const revised = await call('POST', `${gateway}/orders/${orderId}/revise`, {
        revisedOrderLineItems: [{ quantity: 10, menuItemId: chickenVindaloo }],
      });
      t.equal(revised.status, 200, 'revise accepted');
      await eventually('verifyOrderRevised: the new total', async () => {
        return (await call('GET', `${order}/orders/${orderId}`)).body.orderTotal === '123.40';
      });
      await eventually('verifyOrderRevised: APPROVED', async () => (await stateOf(orderId)) === 'APPROVED');

      const cancelled = await call('POST', `${gateway}/orders/${orderId}/cancel`, {});
      t.equal(cancelled.status, 200, 'cancel accepted');
      await eventually('verifyOrderCancelled', async () => (await stateOf(orderId)) === 'CANCELLED');
      await historyShows(consumerId, orderId, 'CANCELLED');
      const bill = (await call('GET', `${accounting}/bills/${orderId}`)).body;
      t.equal(bill.state, 'REVERSED', 'the authorization reversed');
    });

    await t.test('shouldDeliverOrder, then picked up and delivered', async (t) => {
      const { orderId } = await createOrder(t);
      await eventually('the order approved', async () => (await stateOf(orderId)) === 'APPROVED');
      const courierId = Date.now();
      const available = await call('POST', `${delivery}/couriers/${courierId}/availability`, {
        available: true,
      });
      t.equal(available.status, 200, 'noteCourierAvailable');
      const readyBy = new Date(Date.now() + 9 * 3600_000);
      const accepted = await call('POST', `${kitchen}/tickets/${orderId}/accept`, {
        readyBy: localDateTime(readyBy),
      });
      t.equal(accepted.status, 200, 'acceptTicket');
      await eventually('assertOrderAssignedToCourier', async () => {
        const assigned = (await call('GET', `${delivery}/deliveries/${orderId}`)).body.assignedCourier;
        return typeof assigned === 'number' && assigned > 0;
      });

      t.equal(
        (await call('POST', `${delivery}/deliveries/${orderId}/pickedup`, {})).status,
        200,
        'picked up',
      );
      t.equal(
        (await call('POST', `${delivery}/deliveries/${orderId}/delivered`, {})).status,
        200,
        'delivered',
      );
      const done = (await call('GET', `${delivery}/deliveries/${orderId}`)).body;
      t.match(done, { deliveryInfo: { state: 'DELIVERED' } });
      const composed = (await call('GET', `${gateway}/orders/${orderId}`)).body;
      t.match(
        composed,
        {
          orderInfo: { state: 'APPROVED' },
          ticketInfo: { state: 'ACCEPTED' },
          deliveryInfo: {},
          billInfo: {},
        },
        'the gateway composes order, ticket, delivery and bill',
      );
    });

    await t.test('a declined card: the ticket is cancelled and the order REJECTED', async (t) => {
      // 100 x 12.34 is above the accounting service's default card limit.
      const { consumerId, orderId } = await createOrder(t, 100);
      await eventually('the order rejected', async () => (await stateOf(orderId)) === 'REJECTED');
      await eventually('the ticket compensated', async () => {
        return (await call('GET', `${kitchen}/tickets/${orderId}`)).body.state === 'CANCELLED';
      });
      await historyShows(consumerId, orderId, 'REJECTED');
    });
  } finally {
    demo.signal('SIGINT');
    const exit = await demo.exited;
    t.equal(exit.code, 0, 'demo:ftgo stops cleanly on Ctrl-C', { output: demo.text.slice(-20) });
  }
});
