/**
 * The saga orchestrator against a real MariaDB and RabbitMQ, with a participant answered from the test:
 * every step's command in order and the saga completed; a failure compensating the steps done in reverse
 * (not the failed one); a reply delivered twice advancing the saga once; a reply for no saga it knows
 * logged and acknowledged without holding up the queue.
 */

import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Pool, PoolConnection } from 'mysql2/promise';
import pino, { type Logger } from 'pino';
import t from 'tap';
import type { Teardown } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';
import { subscribe } from '../src/consumer.js';
import { inTransaction, openDatabase } from '../src/db.js';
import { createLogger } from '../src/log.js';
import { OutboxPublisher } from '../src/outbox.js';
import { type SagaDefinition, SagaOrchestrator, sagaMigration } from '../src/saga.js';
import { ftgoBrokers, type Received } from './support/brokers.js';

const brokers = ftgoBrokers(t);
const silentLog = createLogger('saga-test', 'silent');

interface Data {
  orderId: number;
}

async function record(conn: PoolConnection, what: string): Promise<void> {
  await conn.query('INSERT INTO effects (what) VALUES (?)', [what]);
}

/** Reserve (undone by Release) -> Charge -> Confirm. */
function definition(participant: string): SagaDefinition<Data> {
  const command = (type: string) => (data: Data) => ({
    channel: participant,
    type,
    payload: { orderId: data.orderId },
  });
  return {
    type: 'TestSaga',
    steps: [
      { command: command('Reserve'), compensation: command('Release') },
      { command: command('Charge') },
      { command: command('Confirm') },
    ],
    completed: (conn, data) => record(conn, `completed ${data.orderId}`),
    rejected: (conn, data, reason) => record(conn, `rejected ${data.orderId}: ${reason}`),
  };
}

async function setUp(t: Teardown, log: Logger = silentLog) {
  const env = await brokers.serviceEnv('ftgo_saga');
  const pool: Pool = await openDatabase(
    {
      host: '127.0.0.1',
      port: Number(env.MYSQL_PORT),
      user: 'root',
      password: env.MYSQL_PASSWORD ?? '',
      database: env.MYSQL_DATABASE ?? 'unused',
    },
    [
      sagaMigration,
      {
        id: '0001-effects',
        sql: ['CREATE TABLE effects (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(200))'],
      },
    ],
  );
  t.teardown(() => pool.end());
  const participant = `participant-${randomUUID()}`;
  const saga = definition(participant);
  const orchestrator = new SagaOrchestrator(`replies-${randomUUID()}`, log);
  orchestrator.register(saga);
  const connection = await amqp.connect(await brokers.amqpUrl());
  t.teardown(() => connection.close());
  const publisher = new OutboxPublisher(pool, await connection.createConfirmChannel(), log, () => {}, 50);
  publisher.start();
  t.teardown(() => publisher.stop());
  await subscribe(
    await connection.createChannel(),
    pool,
    {
      queue: `saga-test-${randomUUID()}`,
      channels: [orchestrator.replyChannel],
      handlers: orchestrator.replyHandlers(),
    },
    log,
    () => publisher.wake(),
  );
  const commands = await brokers.listen(t, participant);
  const publish = await brokers.publisher(t);
  const start = async (orderId: number) => {
    const id = await inTransaction(pool, (conn) => orchestrator.start(conn, saga, { orderId }));
    publisher.wake();
    return id;
  };
  const typesOf = (id: string) => commands.filter((c) => c.correlationId === id).map((c) => c.type);
  /** Waits for the saga's `count`th command and returns it. */
  const nthCommand = async (id: string, count: number): Promise<Received> => {
    const mine = () => commands.filter((c) => c.correlationId === id);
    await waitFor(() => mine().length >= count, { timeoutMs: 20_000, what: `command ${count} of ${id}` });
    return mine()[count - 1] as Received;
  };
  const reply = (
    id: string,
    type: 'Success' | 'Failure',
    payload: Record<string, unknown> = {},
    messageId?: string,
  ) =>
    publish(orchestrator.replyChannel, type, payload, {
      correlationId: id,
      ...(messageId ? { messageId } : {}),
    });
  const effects = async () => {
    const [rows] = await pool.query('SELECT what FROM effects ORDER BY id');
    return (rows as { what: string }[]).map((r) => r.what);
  };
  const stateOf = async (id: string) => {
    const [rows] = await pool.query('SELECT state, compensating FROM saga_instances WHERE id = ?', [id]);
    return (rows as { state: string; compensating: number }[])[0];
  };
  const processed = async (messageId: string) => {
    const [rows] = await pool.query('SELECT 1 FROM processed_messages WHERE message_id = ?', [messageId]);
    return (rows as unknown[]).length === 1;
  };
  return { start, nthCommand, reply, effects, stateOf, typesOf, processed };
}

t.test('every step succeeds: commands in order, then the saga completed', async (t) => {
  const { start, nthCommand, reply, effects, stateOf, typesOf } = await setUp(t);
  const id = await start(7);
  t.match(await nthCommand(id, 1), { type: 'Reserve', payload: { orderId: 7 } });
  reply(id, 'Success');
  t.match(await nthCommand(id, 2), { type: 'Charge' });
  reply(id, 'Success');
  t.match(await nthCommand(id, 3), { type: 'Confirm' });
  reply(id, 'Success');
  await waitFor(async () => (await stateOf(id))?.state === 'COMPLETED', { what: 'the saga completed' });
  t.same(await effects(), ['completed 7']);
  t.same(typesOf(id), ['Reserve', 'Charge', 'Confirm']);
});

t.test('a failed step compensates the steps before it, in reverse, then the saga is rejected', async (t) => {
  const { start, nthCommand, reply, effects, stateOf, typesOf } = await setUp(t);
  const id = await start(8);
  await nthCommand(id, 1);
  reply(id, 'Success');
  await nthCommand(id, 2);
  reply(id, 'Failure', { reason: 'card declined' });
  t.match(await nthCommand(id, 3), { type: 'Release', payload: { orderId: 8 } });
  t.match(await stateOf(id), { state: 'RUNNING', compensating: 1 });
  reply(id, 'Success');
  await waitFor(async () => (await stateOf(id))?.state === 'REJECTED', { what: 'the saga rejected' });
  t.same(await effects(), ['rejected 8: card declined']);
  t.same(typesOf(id), ['Reserve', 'Charge', 'Release'], 'the failed step itself is not compensated');
});

t.test('the same reply delivered twice advances the saga once', async (t) => {
  const { start, nthCommand, reply, stateOf, typesOf } = await setUp(t);
  const id = await start(9);
  await nthCommand(id, 1);
  const messageId = randomUUID();
  reply(id, 'Success', {}, messageId);
  reply(id, 'Success', {}, messageId);
  await nthCommand(id, 2);
  // Replies are handled in order: this one comes after both copies, so the duplicate has been seen.
  reply(id, 'Failure', { reason: 'stop here' });
  await nthCommand(id, 3);
  await waitFor(async () => (await stateOf(id))?.compensating === 1, { what: 'compensating' });
  t.same(
    typesOf(id),
    ['Reserve', 'Charge', 'Release'],
    'one Charge: the duplicate did not move it on to Confirm',
  );
});

t.test('a reply for a saga it does not know is logged and acknowledged; the queue moves on', async (t) => {
  const lines: string[] = [];
  const captured = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const { start, nthCommand, reply, processed, typesOf } = await setUp(t, captured);
  const unknown = randomUUID();
  const messageId = randomUUID();
  reply(unknown, 'Success', {}, messageId);
  await waitFor(() => processed(messageId), { what: 'the stray reply recorded as processed' });
  // One message at a time per queue: a later reply handled means the stray one was acknowledged.
  const id = await start(10);
  await nthCommand(id, 1);
  reply(id, 'Success');
  await nthCommand(id, 2);
  t.same(typesOf(id), ['Reserve', 'Charge']);
  const warnings = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  t.match(
    warnings.filter((w) => w.correlationId === unknown),
    [{ msg: 'reply for no running saga ignored', type: 'Success' }],
  );
});
