/**
 * npm run demo:ftgo [-- --random-ports]
 *
 * The FTGO example services (examples/ftgo) as local processes on their default ports, against a private
 * MariaDB and RabbitMQ started here: a database per service on the one server, one broker for their
 * messages. Prints where each listens and the curl calls of the original project's end-to-end scenario;
 * Ctrl-C stops everything it started.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ftgoPorts } from '../examples/ftgo/common/src/services.js';
import { mariaDbAvailable, startMariaDb } from '../test/support/mariadb.js';
import { rabbitMqAvailable, startRabbitMq } from '../test/support/rabbitmq.js';
import type { DemoContainer } from './demo/context.js';
import { DemoProcesses, demoPort, untilInterrupted } from './demo/processes.js';

/** Each service, its default port and the variable the gateway finds it by. */
const services = [
  { name: 'consumer-service', port: ftgoPorts['consumer-service'], gatewayVariable: 'CONSUMER_SERVICE_URL' },
  {
    name: 'restaurant-service',
    port: ftgoPorts['restaurant-service'],
    gatewayVariable: 'RESTAURANT_SERVICE_URL',
  },
  {
    name: 'accounting-service',
    port: ftgoPorts['accounting-service'],
    gatewayVariable: 'ACCOUNTING_SERVICE_URL',
  },
  { name: 'kitchen-service', port: ftgoPorts['kitchen-service'], gatewayVariable: 'KITCHEN_SERVICE_URL' },
  { name: 'order-service', port: ftgoPorts['order-service'], gatewayVariable: 'ORDER_SERVICE_URL' },
  {
    name: 'order-history-service',
    port: ftgoPorts['order-history-service'],
    gatewayVariable: 'ORDER_HISTORY_SERVICE_URL',
  },
  { name: 'delivery-service', port: ftgoPorts['delivery-service'], gatewayVariable: 'DELIVERY_SERVICE_URL' },
] as const;
const gatewayPort = ftgoPorts['api-gateway'];

function scenario(url: (name: string) => string, gateway: string): string[] {
  return [
    `curl -s -XPOST ${url('consumer-service')}/consumers -H 'content-type: application/json' -d '{"name":{"firstName":"John","lastName":"Doe"}}'`,
    `curl -s -XPOST ${url('restaurant-service')}/restaurants -H 'content-type: application/json' -d '{"name":"My Restaurant","address":{"street1":"1 Main Street","city":"Oakland","state":"CA","zip":"94611"},"menu":{"menuItems":[{"id":"1","name":"Chicken Vindaloo","price":"12.34"}]}}'`,
    `curl -s -XPOST ${gateway}/orders -H 'content-type: application/json' -d '{"consumerId":1,"restaurantId":1,"deliveryAddress":{"street1":"9 Amazing View","city":"Oakland","state":"CA","zip":"94612"},"deliveryTime":"2026-12-24T19:00:00","lineItems":[{"menuItemId":"1","quantity":5}]}'`,
    `curl -s ${gateway}/orders/1                 the order, its ticket, delivery and bill`,
    `curl -s '${gateway}/orders?consumerId=1'    the consumer's order history`,
    `curl -s -XPOST ${url('delivery-service')}/couriers/1/availability -H 'content-type: application/json' -d '{"available":true}'`,
    `curl -s -XPOST ${url('kitchen-service')}/tickets/1/accept -H 'content-type: application/json' -d '{"readyBy":"2026-12-24T18:45:00"}'`,
    `curl -s ${url('delivery-service')}/deliveries/1        the courier assigned`,
    `curl -s -XPOST ${gateway}/orders/1/revise -H 'content-type: application/json' -d '{"revisedOrderLineItems":[{"menuItemId":"1","quantity":10}]}'`,
    `curl -s -XPOST ${gateway}/orders/1/cancel -H 'content-type: application/json' -d '{}'`,
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'random-ports': { type: 'boolean', default: false } } });
  if (!mariaDbAvailable() || !rabbitMqAvailable()) {
    console.error(
      'demo:ftgo: needs mariadbd and rabbitmq-server (scripts/ensure-system.sh ftgo installs them)',
    );
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'podkit-ftgo-'));
  const teardowns: (() => unknown)[] = [];
  const teardown = { teardown: (fn: () => unknown) => teardowns.push(fn) };
  const processes = new DemoProcesses('demo:ftgo');
  const stopAll = async (): Promise<number> => {
    const failures = await processes.stop();
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
    return failures === 0 ? 0 : 1;
  };

  const urls = new Map<string, string>();
  try {
    const [db, broker] = await Promise.all([startMariaDb(teardown), startRabbitMq(teardown)]);
    const shared = {
      HOST: '127.0.0.1',
      MYSQL_HOST: db.host,
      MYSQL_PORT: String(db.port),
      MYSQL_USER: db.user,
      MYSQL_PASSWORD: db.password,
      AMQP_URL: broker.url,
    };
    const containers: DemoContainer[] = [];
    for (const service of services) {
      const port = await demoPort(service.port, values['random-ports']);
      urls.set(service.name, `http://127.0.0.1:${port}`);
      containers.push(serviceContainer(service.name, port, shared));
    }
    const port = await demoPort(gatewayPort, values['random-ports']);
    urls.set('api-gateway', `http://127.0.0.1:${port}`);
    const downstreams = Object.fromEntries(
      services.map((service) => [service.gatewayVariable, urls.get(service.name) as string]),
    );
    containers.push(serviceContainer('api-gateway', port, { ...shared, ...downstreams }));
    await processes.start(containers);
  } catch (err) {
    console.error(`demo:ftgo: ${(err as Error).message}`);
    await stopAll();
    return 1;
  }

  const url = (name: string) => urls.get(name) as string;
  console.log(
    [
      '',
      '== FTGO: the services of "Microservices Patterns", on their default ports ==',
      ...[...urls].map(([name, address]) => `ftgo: ${name} ${address}`),
      '',
      'The original end-to-end scenario, by hand:',
      ...scenario(url, url('api-gateway')).map((line) => `  ${line}`),
      '',
      'Ctrl-C stops everything.',
      'demo:ftgo ready',
    ].join('\n'),
  );
  await untilInterrupted();
  console.log('\ndemo:ftgo: stopping');
  return stopAll();
}

function serviceContainer(name: string, port: number, env: Record<string, string>): DemoContainer {
  return {
    name,
    script: `examples/ftgo/${name}/src/main.js`,
    args: [],
    env: { ...env, PORT: String(port) },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
    tryLines: [],
  };
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo:ftgo: ${(err as Error).stack}`);
    process.exit(1);
  },
);
