/**
 * npm run demo:ftgo [-- --random-ports]
 *
 * The FTGO example services (examples/ftgo) as local processes on their default ports, against a private
 * MariaDB and RabbitMQ started here: a database per service on the one server, one broker for their
 * messages. Prints where each listens and the curl calls of the original project's end-to-end scenario;
 * Ctrl-C stops everything it started.
 */

import { parseArgs } from 'node:util';
import { type FtgoStack, ftgoStackAvailable, startFtgoStack } from './demo/ftgo-stack.js';
import { untilInterrupted } from './demo/processes.js';

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
  if (!ftgoStackAvailable()) {
    console.error(
      'demo:ftgo: needs mariadbd and rabbitmq-server (scripts/ensure-system.sh ftgo installs them)',
    );
    return 1;
  }
  let stack: FtgoStack;
  try {
    stack = await startFtgoStack('demo:ftgo', values['random-ports']);
  } catch (err) {
    console.error(`demo:ftgo: ${(err as Error).message}`);
    return 1;
  }

  console.log(
    [
      '',
      '== FTGO: the services of "Microservices Patterns", on their default ports ==',
      ...[...stack.urls].map(([name, address]) => `ftgo: ${name} ${address}`),
      '',
      'The original end-to-end scenario, by hand:',
      ...scenario(stack.url, stack.url('api-gateway')).map((line) => `  ${line}`),
      '',
      'Ctrl-C stops everything.',
      'demo:ftgo ready',
    ].join('\n'),
  );
  await untilInterrupted();
  console.log('\ndemo:ftgo: stopping');
  return stack.stop();
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo:ftgo: ${(err as Error).stack}`);
    process.exit(1);
  },
);
