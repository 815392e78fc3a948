import { join } from 'node:path';
import amqp, { type ConsumeMessage } from 'amqplib';
import t from 'tap';
import { distDir, spawnNode } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';
import { loadConfig } from '../../common/src/config.js';
import { exchange } from '../../common/src/messages.js';
import { startService } from '../../common/src/service.js';
import { ftgoBrokers, readyAddress } from '../../common/test/support/brokers.js';
import { restaurantService } from '../src/service.js';

const brokers = ftgoBrokers(t);
const serviceEnv = () => brokers.serviceEnv('ftgo_restaurant');

// The original's end-to-end tests send prices as decimal strings; numbers are accepted too.
const ajanta = {
  name: 'Ajanta',
  address: { street1: '1 Main Street', city: 'Oakland', state: 'CA', zip: '94611' },
  menu: {
    menuItems: [
      { id: '1', name: 'Chicken Vindaloo', price: '12.34' },
      { id: '2', name: 'Samosa', price: 5.5 },
    ],
  },
};

t.test(
  'REST API as the original; RestaurantCreated carries the menu with decimal-string prices',
  async (t) => {
    const broker = await amqp.connect(await brokers.amqpUrl());
    t.teardown(() => broker.close());
    const channel = await broker.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, 'Restaurant');
    const events: ConsumeMessage[] = [];
    await channel.consume(queue, (m) => m && events.push(m), { noAck: true });

    const env = { ...(await serviceEnv()), LOG_LEVEL: 'warn' };
    const service = await startService(
      restaurantService,
      loadConfig('restaurant-service', { port: 8084, database: 'x' }, env),
    );
    t.teardown(() => service.close());
    const { app } = service;

    const created = await app.inject({ method: 'POST', url: '/restaurants', payload: ajanta });
    t.equal(created.statusCode, 200);
    const { id } = created.json() as { id: number };
    const expected = {
      id,
      name: 'Ajanta',
      address: ajanta.address,
      menu: {
        menuItems: [
          { id: '1', name: 'Chicken Vindaloo', price: '12.34' },
          { id: '2', name: 'Samosa', price: '5.50' },
        ],
      },
    };
    t.same((await app.inject({ method: 'GET', url: `/restaurants/${id}` })).json(), expected);
    t.equal((await app.inject({ method: 'GET', url: '/restaurants/424242' })).statusCode, 404);

    const badPrice = { ...ajanta, menu: { menuItems: [{ id: '1', name: 'x', price: '1.234' }] } };
    const rejected = await app.inject({ method: 'POST', url: '/restaurants', payload: badPrice });
    t.equal(rejected.statusCode, 400, 'three decimals');
    t.match(rejected.json(), { message: /two decimals/ });
    const twice = { ...ajanta, menu: { menuItems: [ajanta.menu.menuItems[0], ajanta.menu.menuItems[0]] } };
    const duplicate = await app.inject({ method: 'POST', url: '/restaurants', payload: twice });
    t.equal(duplicate.statusCode, 400);
    t.match(duplicate.json(), { message: /unique/ });

    await waitFor(() => events.length >= 1, { what: 'RestaurantCreated' });
    t.equal(events[0]?.properties.type, 'RestaurantCreated');
    t.same(JSON.parse(events[0]?.content.toString() ?? 'null'), expected);
    const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: object };
    t.same(Object.keys(openapi.paths).sort(), ['/restaurants', '/restaurants/{restaurantId}']);
  },
);

t.test('as a process on its own port: create and read a restaurant, stop on SIGTERM', async (t) => {
  const proc = spawnNode(t, join(distDir, 'examples/ftgo/restaurant-service/src/main.js'), [], {
    env: await serviceEnv(),
  });
  const base = await readyAddress(proc);
  const created = await fetch(`${base}/restaurants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ajanta),
  });
  t.equal(created.status, 200);
  const { id } = (await created.json()) as { id: number };
  const read = (await (await fetch(`${base}/restaurants/${id}`)).json()) as { name: string };
  t.equal(read.name, 'Ajanta');
  t.equal((await fetch(`${base}/readyz`)).status, 200);
  t.same(await proc.stop(), { code: 0, signal: null });
});
