/**
 * What the FTGO benchmark's orders need before the first one: a consumer per client (through the
 * gateway, as the original's clients create them) with its account opened by Accounting, and a restaurant
 * (at Restaurant: the original's gateway does not route /restaurants) replicated to Order and Kitchen.
 * Without them the first orders would be refused or rejected, which the benchmark counts as failures.
 */

import { request } from 'undici';
import type { FtgoStack } from '../../scripts/demo/ftgo-stack.js';
import { waitFor } from '../../test/support/wait.js';

const menuItemId = '1';

async function json(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await request(url, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${method} ${url}: ${response.statusCode} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function answers(url: string): Promise<boolean> {
  return json('GET', url).then(
    () => true,
    () => false,
  );
}

/** Creates `consumers` consumers and one restaurant; returns the body of client `n`'s orders. */
export async function setUpOrders(stack: FtgoStack, consumers: number): Promise<(client: number) => unknown> {
  const gateway = stack.url('api-gateway');
  const consumerIds: number[] = [];
  for (let n = 0; n < consumers; n++) {
    const created = await json('POST', `${gateway}/consumers`, {
      name: { firstName: 'Bench', lastName: `Client ${n}` },
    });
    consumerIds.push(created.consumerId as number);
  }
  const { id: restaurantId } = await json('POST', `${stack.url('restaurant-service')}/restaurants`, {
    name: 'Bench Restaurant',
    address: { street1: '1 Main Street', city: 'Oakland', state: 'CA', zip: '94611' },
    menu: { menuItems: [{ id: menuItemId, name: 'Chicken Vindaloo', price: '12.34' }] },
  });
  const ready = async () =>
    (await answers(`${stack.url('order-service')}/restaurants/${restaurantId}`)) &&
    (await answers(`${stack.url('kitchen-service')}/restaurants/${restaurantId}`)) &&
    (
      await Promise.all(consumerIds.map((id) => answers(`${stack.url('accounting-service')}/accounts/${id}`)))
    ).every(Boolean);
  await waitFor(ready, {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: 'the accounts opened and the restaurant replicated to Order and Kitchen',
  });
  return (client) => ({
    consumerId: consumerIds[client],
    restaurantId,
    deliveryAddress: { street1: '9 Amazing View', city: 'Oakland', state: 'CA', zip: '94612' },
    deliveryTime: '2026-12-24T19:00:00',
    lineItems: [{ menuItemId, quantity: 2 }],
  });
}
