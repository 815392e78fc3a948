import { randomUUID } from 'node:crypto';
import amqp, { type ConsumeMessage } from 'amqplib';
import type { Pool, PoolConnection } from 'mysql2/promise';
import t from 'tap';
import { sharedMariaDb } from '../../../../test/support/mariadb.js';
import type { Teardown } from '../../../../test/support/process.js';
import { sharedRabbitMq } from '../../../../test/support/rabbitmq.js';
import { waitFor } from '../../../../test/support/wait.js';
import { handleOnce, toMessage } from '../src/consumer.js';
import { inTransaction, openDatabase } from '../src/db.js';
import { createLogger } from '../src/log.js';
import { exchange } from '../src/messages.js';
import { addToOutbox, OutboxPublisher } from '../src/outbox.js';

const db = sharedMariaDb(t);
const rabbit = sharedRabbitMq(t);
const log = createLogger('messaging-test', 'silent');

async function database(t: Teardown): Promise<Pool> {
  const mariadb = await db();
  const pool = await openDatabase(
    {
      host: mariadb.host,
      port: mariadb.port,
      user: mariadb.user,
      password: mariadb.password,
      database: `ftgo_common_${randomUUID().slice(0, 8)}`,
    },
    [{ id: '0001-effects', sql: ['CREATE TABLE effects (id VARCHAR(50) PRIMARY KEY)'] }],
  );
  t.teardown(() => pool.end());
  return pool;
}

async function unsent(pool: Pool): Promise<number> {
  const [rows] = await pool.query('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL');
  return Number((rows as { n: number }[])[0]?.n);
}

async function collector(url: string, routingKey: string) {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, routingKey);
  const received: ConsumeMessage[] = [];
  await channel.consume(queue, (m) => m && received.push(m), { noAck: true });
  return { received, close: () => connection.close() };
}

t.test('outbox: only committed messages are sent, in order, each marked sent', async (t) => {
  const pool = await database(t);
  const broker = await rabbit();
  const channelName = `outbox-${randomUUID()}`;
  const sink = await collector(broker.url, channelName);
  t.teardown(sink.close);

  await t.rejects(
    inTransaction(pool, async (conn) => {
      await addToOutbox(conn, { destination: channelName, type: 'RolledBack', payload: {} });
      throw new Error('business rule failed');
    }),
  );
  await inTransaction(pool, async (conn) => {
    for (let n = 0; n < 20; n++)
      await addToOutbox(conn, { destination: channelName, type: 'Step', aggregateId: 'A', payload: { n } });
  });
  t.equal(await unsent(pool), 20, 'the rolled-back message never reached the outbox');

  const connection = await amqp.connect(broker.url);
  t.teardown(() => connection.close());
  let published = 0;
  const publisher = new OutboxPublisher(
    pool,
    await connection.createConfirmChannel(),
    log,
    (n) => {
      published += n;
    },
    50,
    7,
  );
  publisher.start();
  t.teardown(() => publisher.stop());
  await waitFor(() => sink.received.length >= 20, { what: '20 messages' });
  t.same(
    sink.received.map((m) => JSON.parse(m.content.toString()).n),
    Array.from({ length: 20 }, (_, n) => n),
    'one aggregate in order, across batches',
  );
  const eventIds = sink.received.map((m) => toMessage(m).eventId ?? 0);
  t.ok(
    eventIds.every((id, n) => id > 0 && (n === 0 || id > (eventIds[n - 1] ?? 0))),
    `eventId increases with each message: ${eventIds.join(',')}`,
  );
  await waitFor(async () => (await unsent(pool)) === 0, { what: 'rows marked sent' });
  t.equal(published, 20);
  t.notOk(
    sink.received.some((m) => m.properties.type === 'RolledBack'),
    'nothing of the rolled-back transaction',
  );
});

t.test('outbox: a broker that is down loses nothing; the rows go out once it is back', async (t) => {
  const pool = await database(t);
  const broker = await rabbit();
  await inTransaction(pool, (conn) =>
    addToOutbox(conn, { destination: 'while-down', type: 'Kept', payload: { kept: true } }),
  );
  await broker.stop();
  await t.rejects(amqp.connect(broker.url));
  t.equal(await unsent(pool), 1, 'still unsent while the broker is down');
  await broker.start();

  const sink = await collector(broker.url, 'while-down');
  t.teardown(sink.close);
  const connection = await amqp.connect(broker.url);
  t.teardown(() => connection.close());
  const publisher = new OutboxPublisher(pool, await connection.createConfirmChannel(), log, () => {});
  t.equal(await publisher.publishBatch(), 1);
  await waitFor(() => sink.received.length === 1, { what: 'the kept message' });
  t.same(JSON.parse(sink.received[0]?.content.toString() ?? 'null'), { kept: true });
  t.equal(await unsent(pool), 0);
});

t.test(
  'idempotent consumer: a failed handler commits nothing; a redelivery after success does nothing',
  async (t) => {
    const pool = await database(t);
    const message = { messageId: randomUUID(), destination: 'x', type: 'Effect', payload: {} };
    let runs = 0;
    const effect = async (conn: PoolConnection) => {
      runs++;
      await conn.query('INSERT INTO effects (id) VALUES (?)', [message.messageId]);
      if (runs === 1) throw new Error('crashed after the effect');
    };
    await t.rejects(handleOnce(pool, 'test', message, effect), /crashed/);
    t.equal(await handleOnce(pool, 'test', message, effect), true, 'the redelivery runs it');
    t.equal(await handleOnce(pool, 'test', message, effect), false, 'a duplicate does not');
    t.equal(await handleOnce(pool, 'other-consumer', message, async () => {}), true, 'per consumer');
    const [rows] = await pool.query('SELECT COUNT(*) AS n FROM effects');
    t.equal(Number((rows as { n: number }[])[0]?.n), 1, 'the effect happened once');
    t.equal(runs, 2);
  },
);
