/**
 * The FTGO images (examples/ftgo/Dockerfile: each service's bundle on podkit's base), run as containers
 * on the host's network against one private MariaDB and RabbitMQ, each as uid 65532 with a read-only root
 * filesystem: an order placed through the API gateway container is approved by the Create Order saga
 * across the service containers and shows in Order History.
 */

import t from 'tap';
import { ftgoPorts, ftgoServices, gatewayVariable } from '../../examples/ftgo/common/src/services.js';
import { type Answer, call } from '../../examples/ftgo/common/test/support/json-call.js';
import { ftgoConnectionEnv } from '../../scripts/demo/ftgo-stack.js';
import { imageReference, imageSize } from '../../scripts/images.js';
import { podman, podmanResult, readOnlyRoot } from '../support/images.js';
import { startMariaDb } from '../support/mariadb.js';
import { freePort } from '../support/ports.js';
import { startRabbitMq } from '../support/rabbitmq.js';
import { waitFor } from '../support/wait.js';
import { orderRequest, restaurantRequest } from './ftgo-order.js';

export function ftgoImageTests(run: { id: string; tag: string; containers: string[] }): void {
  t.test(
    'FTGO images: each service as uid 65532 on the base, its port exposed, one small layer',
    async (t) => {
      const baseSize = imageSize('podman', imageReference('base', run.tag));
      for (const service of ftgoServices) {
        const reference = imageReference(`ftgo-${service}`, run.tag);
        const [image] = JSON.parse(await podman(['image', 'inspect', reference]));
        const own = imageSize('podman', reference) - baseSize;
        // The service's bundle and nothing else: node, tini and podkit's runtime stay in the shared base.
        t.ok(own < 4e6, `${service}: its own layer is ${(own / 1e6).toFixed(2)} MB (under 4 MB)`);
        t.equal(image.Config.User, '65532:65532', `${service}: uid 65532`);
        t.same(
          image.Config.Entrypoint,
          ['tini', '--', 'node', '/app/ftgo/main.js'],
          `${service}: under tini`,
        );
        t.ok(
          `${ftgoPorts[service]}/tcp` in (image.Config.ExposedPorts ?? {}),
          `${service}: exposes its port`,
        );
      }
    },
  );

  t.test('FTGO images: an order placed through the gateway container is approved', async (t) => {
    const [db, broker] = await Promise.all([startMariaDb(t), startRabbitMq(t)]);
    const ports = new Map<string, number>();
    for (const service of ftgoServices) ports.set(service, await freePort());
    const url = (service: string) => `http://127.0.0.1:${ports.get(service)}`;
    const shared = { HOST: '127.0.0.1', ...ftgoConnectionEnv(db, broker) };
    const downstreams = Object.fromEntries(
      ftgoServices.flatMap((s) => (s === 'api-gateway' ? [] : [[gatewayVariable(s), url(s)]])),
    );
    const names = new Map<string, string>();
    for (const service of ftgoServices) {
      const name = `podkit-test-ftgo-${service}-${run.id}`;
      names.set(service, name);
      run.containers.push(name);
      const env = {
        ...shared,
        PORT: String(ports.get(service)),
        ...(service === 'api-gateway' ? downstreams : {}),
      };
      const started = await podmanResult([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        'host',
        ...readOnlyRoot,
        ...Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
        imageReference(`ftgo-${service}`, run.tag),
      ]);
      t.equal(started.code, 0, `${service} container started ${started.stderr}`);
    }
    const logs = async () =>
      (
        await Promise.all(
          [...names].map(
            async ([service, name]) => `== ${service}\n${(await podmanResult(['logs', name])).stderr}`,
          ),
        )
      ).join('\n');
    try {
      for (const service of ftgoServices) {
        await waitFor(
          async () => (await call('GET', `${url(service)}/readyz`).catch(() => undefined))?.status === 200,
          {
            timeoutMs: 90_000,
            what: `${service} ready`,
          },
        );
      }
      const consumer = await call('POST', `${url('consumer-service')}/consumers`, {
        name: { firstName: 'John', lastName: 'Doe' },
      });
      t.equal(consumer.status, 200, 'consumer created');
      const consumerId = consumer.body.consumerId as number;
      const restaurant = await call('POST', `${url('restaurant-service')}/restaurants`, restaurantRequest);
      t.equal(restaurant.status, 200, 'restaurant created');
      const restaurantId = restaurant.body.id as number;
      // The order service learns of consumers' accounts and restaurants from events: wait for its replica.
      await waitFor(
        async () => (await call('GET', `${url('order-service')}/restaurants/${restaurantId}`)).status === 200,
        { timeoutMs: 30_000, what: 'the restaurant replicated in Order' },
      );
      const placed = await call(
        'POST',
        `${url('api-gateway')}/orders`,
        orderRequest(consumerId, restaurantId),
      );
      t.equal(placed.status, 200, 'order placed through the gateway');
      const orderId = placed.body.orderId as number;
      let composed: Answer | undefined;
      await waitFor(
        async () => {
          composed = await call('GET', `${url('api-gateway')}/orders/${orderId}`);
          return (composed.body.orderInfo as { state?: string } | undefined)?.state === 'APPROVED';
        },
        { timeoutMs: 30_000, what: 'the order APPROVED' },
      );
      t.match(
        composed?.body,
        { orderInfo: { state: 'APPROVED', orderTotal: '61.70' }, billInfo: { state: 'AUTHORIZED' } },
        'approved: the saga ran across the containers, the card authorized',
      );
      await waitFor(
        async () => {
          const history = await call('GET', `${url('api-gateway')}/orders?consumerId=${consumerId}`);
          return Boolean(
            (history.body.orders as { orderId: number; status: string }[] | undefined)?.some(
              (o) => o.orderId === orderId && o.status === 'APPROVED',
            ),
          );
        },
        { timeoutMs: 30_000, what: 'the order in Order History' },
      );
      t.pass('Order History shows it APPROVED');
    } catch (err) {
      t.comment(await logs());
      throw err;
    }
  });
}
