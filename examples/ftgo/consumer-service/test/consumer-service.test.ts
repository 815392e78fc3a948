import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import amqp, { type Channel, type ConsumeMessage } from 'amqplib';
import t from 'tap';
import { distDir, spawnNode } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';
import { loadConfig } from '../../common/src/config.js';
import { exchange } from '../../common/src/messages.js';
import { startService } from '../../common/src/service.js';
import { ftgoBrokers, readyAddress } from '../../common/test/support/brokers.js';
import { consumerService } from '../src/service.js';

const brokers = ftgoBrokers(t);
const serviceEnv = () => brokers.serviceEnv('ftgo_consumer');

/** A queue of the test's own bound to `channel`, collecting what arrives. */
async function listen(channel: Channel, routingKey: string): Promise<ConsumeMessage[]> {
  const received: ConsumeMessage[] = [];
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, routingKey);
  await channel.consume(queue, (message) => message && received.push(message), { noAck: true });
  return received;
}

t.test('REST API as the original, ConsumerCreated published through the outbox once', async (t) => {
  const env = { ...(await serviceEnv()), LOG_LEVEL: 'warn' };
  const config = loadConfig('consumer-service', { port: 8081, database: 'unused' }, env);
  const broker = await amqp.connect(await brokers.amqpUrl());
  t.teardown(() => broker.close());
  const events = await listen(await broker.createChannel(), 'Consumer');
  const service = await startService(consumerService, config);
  t.teardown(() => service.close());
  const { app } = service;

  const created = await app.inject({
    method: 'POST',
    url: '/consumers',
    payload: { name: { firstName: 'John', lastName: 'Doe' } },
  });
  t.equal(created.statusCode, 200);
  const { consumerId } = created.json() as { consumerId: number };
  t.type(consumerId, 'number');

  const read = await app.inject({ method: 'GET', url: `/consumers/${consumerId}` });
  t.same(read.json(), { consumerId, name: { firstName: 'John', lastName: 'Doe' } });
  t.equal((await app.inject({ method: 'GET', url: '/consumers/999999' })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: '/consumers/abc' })).statusCode, 400, 'id not a number');
  const bad = await app.inject({ method: 'POST', url: '/consumers', payload: { name: { firstName: 'x' } } });
  t.equal(bad.statusCode, 400, 'lastName missing');
  t.match(bad.json(), { message: /lastName/ });

  await waitFor(() => events.length >= 1, { what: 'ConsumerCreated on the Consumer channel' });
  const event = events[0] as ConsumeMessage;
  t.equal(event.properties.type, 'ConsumerCreated');
  t.same(JSON.parse(event.content.toString()), { consumerId, name: { firstName: 'John', lastName: 'Doe' } });
  t.equal(event.properties.headers?.aggregateId, String(consumerId));

  // Counted once the broker confirmed and the row is marked sent, which may follow the delivery.
  const metricsBody = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;
  await waitFor(async () => /^ftgo_outbox_published_total 1$/m.test(await metricsBody()), {
    what: 'ftgo_outbox_published_total 1',
  });
  const metrics = { body: await metricsBody() };
  t.match(metrics.body, /ftgo_http_requests_total\{method="POST",route="\/consumers",status="200"\} 1/);
  t.equal(events.length, 1, 'sent once: the outbox row is marked sent');

  const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, unknown>;
  };
  t.same(Object.keys(openapi.paths).sort(), ['/consumers', '/consumers/{consumerId}']);
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});

t.test('as a process: verifyConsumerDetails answered once per command, JSON logs', async (t) => {
  const env = await serviceEnv();
  const proc = spawnNode(t, join(distDir, 'examples/ftgo/consumer-service/src/main.js'), [], { env });
  const listening = await proc.waitForLog('listening', 30_000);
  const base = await readyAddress(proc);
  t.match(listening, { level: 'info', service: 'consumer-service' });
  t.match(String(listening.time), /^\d{4}-\d\d-\d\dT/);

  const created = await fetch(`${base}/consumers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: { firstName: 'Jane', lastName: 'Roe' } }),
  });
  const { consumerId } = (await created.json()) as { consumerId: number };

  const broker = await amqp.connect(await brokers.amqpUrl());
  t.teardown(() => broker.close());
  const channel = await broker.createChannel();
  const replyChannel = `test-replies-${randomUUID()}`;
  const replies = await listen(channel, replyChannel);
  const command = (id: number, messageId: string, correlationId: string) =>
    channel.publish(
      exchange,
      'consumerService',
      Buffer.from(JSON.stringify({ consumerId: id, orderId: 1 })),
      {
        messageId,
        type: 'ValidateOrderByConsumer',
        correlationId,
        replyTo: replyChannel,
        persistent: true,
      },
    );
  const duplicated = randomUUID();
  command(consumerId, duplicated, 'saga-1');
  command(consumerId, duplicated, 'saga-1');
  command(consumerId + 1000, randomUUID(), 'saga-2');
  await waitFor(() => replies.length >= 2, { timeoutMs: 20_000, what: 'two replies' });
  // The third command was handled after the duplicate (one queue, in order): nothing more can come.
  const bySaga = Object.fromEntries(replies.map((r) => [r.properties.correlationId, r.properties.type]));
  t.same(bySaga, { 'saga-1': 'Success', 'saga-2': 'Failure' });
  t.equal(replies.length, 2, 'the duplicated command was answered once');
  await proc.waitForLog('duplicate message ignored');

  const exit = await proc.stop();
  t.same(exit, { code: 0, signal: null }, 'SIGTERM stops it cleanly');
});
