/**
 * A service outlives its broker and database (service.ts, broker-connection.ts): consumer-service as a
 * process started before RabbitMQ exists and before MariaDB is up, and a broker restarted and killed under
 * it. Real RabbitMQ and MariaDB that the test stops and starts on the same port and data.
 */

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import amqp from 'amqplib';
import t from 'tap';
import { startMariaDb } from '../../../../test/support/mariadb.js';
import { distDir, type Spawned, spawnNode } from '../../../../test/support/process.js';
import { createRabbitMq } from '../../../../test/support/rabbitmq.js';
import { waitFor } from '../../../../test/support/wait.js';
import { exchange } from '../src/messages.js';

const consumerMain = join(distDir, 'examples/ftgo/consumer-service/src/main.js');
const gatewayMain = join(distDir, 'examples/ftgo/api-gateway/src/main.js');

const [mariadb, rabbit] = await Promise.all([startMariaDb(t), createRabbitMq(t)]);
const secrets = [mariadb.password, rabbit.password, encodeURIComponent(rabbit.password)];

function serviceEnv(): NodeJS.ProcessEnv {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    MYSQL_PORT: String(mariadb.port),
    MYSQL_PASSWORD: mariadb.password,
    MYSQL_DATABASE: `ftgo_consumer_${randomUUID().slice(0, 8)}`,
    AMQP_URL: rabbit.url,
    OUTBOX_POLL_MS: '50',
  };
}

async function startConsumerService(): Promise<{ proc: Spawned; base: string }> {
  const proc = spawnNode(t, consumerMain, [], { env: serviceEnv() });
  const listening = await proc.waitForLog('listening', 30_000);
  return { proc, base: String(listening.address) };
}

const status = async (url: string) => (await fetch(url)).status;

/** Waits for /readyz to answer `code`: 200 once the dependencies are there, 503 once one is gone. */
async function readyz(base: string, code: 200 | 503, what: string): Promise<void> {
  await waitFor(async () => (await status(`${base}/readyz`)) === code, { timeoutMs: 20_000, what });
}

async function metric(base: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

async function createConsumer(base: string, firstName: string): Promise<Response> {
  return fetch(`${base}/consumers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: { firstName, lastName: 'Doe' } }),
  });
}

/** What the process said, every stream: a password must appear in none of it. */
function everything(proc: Spawned): string {
  return [...proc.logs.map((line) => JSON.stringify(line)), ...proc.text].join('\n');
}

/** Sends ValidateOrderByConsumer as Order's saga would; resolves with the reply's type. */
async function validateConsumer(consumerId: number): Promise<string> {
  const connection = await amqp.connect(rabbit.url);
  try {
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const replyTo = `test-replies-${randomUUID()}`;
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, replyTo);
    const reply = new Promise<string>((resolve) => {
      void channel.consume(queue, (message) => message && resolve(String(message.properties.type)), {
        noAck: true,
      });
    });
    channel.publish(exchange, 'consumerService', Buffer.from(JSON.stringify({ consumerId, orderId: 1 })), {
      messageId: randomUUID(),
      type: 'ValidateOrderByConsumer',
      correlationId: randomUUID(),
      replyTo,
      persistent: true,
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no reply to ValidateOrderByConsumer in 20 s')), 20_000);
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await connection.close();
  }
}

let service: { proc: Spawned; base: string };

t.test('started before its broker exists: listens, 503 until the broker starts, then serves', async (t) => {
  service = await startConsumerService();
  const { proc, base } = service;
  t.equal(await status(`${base}/healthz`), 200, 'alive while the broker is missing');
  t.equal(await status(`${base}/readyz`), 503, 'not ready without the broker');
  t.equal(await metric(base, 'ftgo_broker_connected'), 0);

  // Each failed attempt is one warn line with its reason, the delays growing.
  await waitFor(() => proc.logs.filter((l) => l.msg === 'cannot reach RabbitMQ; retrying').length >= 3, {
    timeoutMs: 15_000,
    what: 'three failed connection attempts logged',
  });
  const failures = proc.logs.filter((l) => l.msg === 'cannot reach RabbitMQ; retrying');
  t.match(failures[0], { level: 'warn', attempt: 1, reason: /ECONNREFUSED/ });
  t.match(String(failures[0]?.target), /^amqp:\/\/podkit:redacted@127\.0\.0\.1:\d+\/$/);
  t.same(
    failures.slice(0, 3).map((l) => l.attempt),
    [1, 2, 3],
  );
  t.ok(
    failures.every((l) => Number(l.retryInMs) > 0 && Number(l.retryInMs) <= 5000),
    'delays within the 5 s cap',
  );

  // The database is up: a consumer is registered now and its event waits in the outbox.
  const early = await createConsumer(base, 'Early');
  t.equal(early.status, 200, 'a route that needs only the database works without the broker');
  const { consumerId } = (await early.json()) as { consumerId: number };

  await rabbit.start();
  await readyz(base, 200, 'ready once the broker runs');
  t.equal(await metric(base, 'ftgo_broker_connected'), 1);
  t.equal(await metric(base, 'ftgo_broker_reconnects_total'), 0, 'a first connection is not a reconnect');
  await waitFor(async () => (await metric(base, 'ftgo_outbox_published_total')) === 1, {
    what: 'the waiting ConsumerCreated published',
  });
  t.equal(await validateConsumer(consumerId), 'Success', 'a command is handled');
  for (const secret of secrets) t.notOk(everything(proc).includes(secret), 'no password in its output');
  t.notMatch(everything(proc), /FSTDEP|DeprecationWarning/, 'no deprecation warning');
});

t.test('broker restarted under it: 503, reconnected, outbox and subscription resume', async (t) => {
  const { proc, base } = service;
  // A durable queue of the test's own keeps what is published while nobody from the test listens.
  const events = `test-consumer-events-${randomUUID()}`;
  const setup = await amqp.connect(rabbit.url);
  const setupChannel = await setup.createChannel();
  await setupChannel.assertExchange(exchange, 'topic', { durable: true });
  await setupChannel.assertQueue(events, { durable: true });
  await setupChannel.bindQueue(events, exchange, 'Consumer');
  await setup.close();

  await rabbit.stop();
  await readyz(base, 503, 'not ready once the broker stopped');
  t.equal(await metric(base, 'ftgo_broker_connected'), 0);
  await proc.waitForLog('RabbitMQ connection lost; reconnecting');
  const whileDown = await createConsumer(base, 'Offline');
  t.equal(whileDown.status, 200, 'the database side keeps working');
  const { consumerId } = (await whileDown.json()) as { consumerId: number };

  await rabbit.start();
  await readyz(base, 200, 'ready again once the broker is back');
  t.equal(await metric(base, 'ftgo_broker_reconnects_total'), 1);
  t.equal(await metric(base, 'ftgo_broker_connected'), 1);

  // The row written while the broker was down is published after it returned.
  const reader = await amqp.connect(rabbit.url);
  t.teardown(() => reader.close().catch(() => {}));
  const channel = await reader.createChannel();
  const received: unknown[] = [];
  await channel.consume(events, (m) => m && received.push(JSON.parse(m.content.toString())), { noAck: true });
  await waitFor(() => received.some((p) => (p as { consumerId: number }).consumerId === consumerId), {
    timeoutMs: 15_000,
    what: `ConsumerCreated for consumer ${consumerId}`,
  });
  t.equal(await validateConsumer(consumerId), 'Success', 'the command subscription consumes again');
  t.equal(proc.exit, undefined, 'the process never exited');
});

t.test('broker killed: 503; SIGTERM still stops it cleanly while it retries', async (t) => {
  const { proc, base } = service;
  const before = proc.logs.length;
  await rabbit.kill();
  await readyz(base, 503, 'not ready once the broker crashed');
  await waitFor(
    () => proc.logs.slice(before).some((l) => l.msg === 'cannot reach RabbitMQ; retrying' && l.attempt === 2),
    { what: 'retrying after the crash' },
  );
  t.same(await proc.stop(), { code: 0, signal: null });
});

t.test('started before MariaDB is up: 503 on its routes, ready once the database is', async (t) => {
  await rabbit.start();
  await mariadb.stop();
  const { proc, base } = await startConsumerService();
  t.equal(await status(`${base}/readyz`), 503);
  const read = await fetch(`${base}/consumers/1`);
  t.equal(read.status, 503, 'a route that needs the database answers 503');
  t.match(await read.json(), { statusCode: 503, error: 'Service Unavailable', message: /database/ });
  await waitFor(() => proc.logs.filter((l) => l.msg === 'cannot reach MySQL; retrying').length >= 2, {
    timeoutMs: 15_000,
    what: 'failed database attempts logged',
  });
  t.match(
    proc.logs.find((l) => l.msg === 'cannot reach MySQL; retrying'),
    { level: 'warn', target: `127.0.0.1:${mariadb.port}/${'ftgo_consumer_'}`, reason: /ECONNREFUSED/ },
  );

  await mariadb.start();
  await readyz(base, 200, 'ready once the database runs');
  const created = await createConsumer(base, 'Late');
  t.equal(created.status, 200);
  const { consumerId } = (await created.json()) as { consumerId: number };
  t.equal(await status(`${base}/consumers/${consumerId}`), 200);

  // Gone again while running: 503 from readyz and from the routes, not a crash; back when it returns.
  await mariadb.stop();
  await readyz(base, 503, 'not ready without MariaDB');
  const gone = await fetch(`${base}/consumers/${consumerId}`);
  t.equal(gone.status, 503);
  t.match(await gone.json(), { statusCode: 503, message: /database/ });
  await mariadb.start();
  await waitFor(async () => (await status(`${base}/consumers/${consumerId}`)) === 200, {
    timeoutMs: 20_000,
    what: 'the route served again',
  });
  t.equal(await status(`${base}/readyz`), 200);
  for (const secret of secrets) t.notOk(everything(proc).includes(secret), 'no password in its output');
  t.same(await proc.stop(), { code: 0, signal: null });
});

t.test('bad configuration: exit 2 at once with one line naming the variable', async (t) => {
  const cases: [string, NodeJS.ProcessEnv, RegExp][] = [
    [consumerMain, { PORT: '80.5' }, /^consumer-service: PORT must be a non-negative integer, got "80\.5"$/],
    [consumerMain, { AMQP_URL: 'amqp//guest:hunter2@broker' }, /^consumer-service: AMQP_URL must be a URL/],
    [
      consumerMain,
      { AMQP_URL: 'http://guest:hunter2@broker/' },
      /^consumer-service: AMQP_URL must start with/,
    ],
    [gatewayMain, { RATE_LIMIT_PER_SECOND: 'lots' }, /^api-gateway: RATE_LIMIT_PER_SECOND must be a non-/],
    [gatewayMain, { BREAKER_RESET_MS: '0' }, /^api-gateway: BREAKER_RESET_MS must be a positive integer/],
  ];
  for (const [main, env, said] of cases) {
    const proc = spawnNode(t, main, [], { env: { ...serviceEnv(), ...env } });
    t.equal((await proc.exited).code, 2, `${Object.keys(env)[0]} -> exit 2`);
    await proc.drained;
    t.equal(proc.logs.length + proc.text.length, 1, 'one line');
    t.match(proc.text[0], said);
    t.notOk(everything(proc).includes('hunter2'), 'the URL password is not repeated');
  }
});
