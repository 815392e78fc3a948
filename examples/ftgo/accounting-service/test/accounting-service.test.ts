/**
 * Accounting Service against a real MariaDB and RabbitMQ: accounts opened from ConsumerCreated, the
 * sagas' card commands answered on their reply channel (authorized, declined, revised, reversed), the
 * bill the gateway reads, a redelivered command answered once; then as a process with its card limit
 * from the environment.
 */

import { join } from 'node:path';
import t from 'tap';
import { distDir, spawnNode } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';
import { loadConfig } from '../../common/src/config.js';
import { startService } from '../../common/src/service.js';
import { ftgoBrokers, type Received, readyAddress } from '../../common/test/support/brokers.js';
import { accountingService } from '../src/service.js';

const brokers = ftgoBrokers(t);
/** Where the order sagas' replies go (examples/ftgo/README.md, Message contract). */
const replyTo = 'orderService.replies';
const main = join(distDir, 'examples/ftgo/accounting-service/src/main.js');

/** The replies for one saga id, once `count` of them arrived. */
async function repliesOf(replies: Received[], correlationId: string, count = 1): Promise<Received[]> {
  await waitFor(() => replies.filter((r) => r.correlationId === correlationId).length >= count, {
    timeoutMs: 20_000,
    what: `${count} reply for ${correlationId}`,
  });
  return replies.filter((r) => r.correlationId === correlationId);
}

t.test('accounts from ConsumerCreated; card commands answered on the reply channel', async (t) => {
  const env = { ...(await brokers.serviceEnv('ftgo_accounting')), LOG_LEVEL: 'warn' };
  const config = loadConfig('accounting-service', { port: 8085, database: 'unused' }, env);
  const replies = await brokers.listen(t, replyTo);
  const publish = await brokers.publisher(t);
  const service = await startService(accountingService, config);
  t.teardown(() => service.close());
  const { app } = service;
  const get = async (url: string) => {
    const answer = await app.inject({ method: 'GET', url });
    return { status: answer.statusCode, body: answer.json() as Record<string, unknown> };
  };

  t.equal((await get('/accounts/7')).status, 404, 'no account before ConsumerCreated');
  const created = publish('Consumer', 'ConsumerCreated', {
    consumerId: 7,
    name: { firstName: 'J', lastName: 'D' },
  });
  publish('Consumer', 'ConsumerCreated', { consumerId: 7, name: {} }, { messageId: created });
  await waitFor(async () => (await get('/accounts/7')).status === 200, { what: 'the account opened' });
  const account = (await get('/accounts/7')).body;
  t.match(account, { consumerId: 7, accountId: Number });
  t.equal((await get('/accounts/abc')).status, 400, 'an id that is not a number');

  const command = (type: string, payload: Record<string, unknown>, saga: string, messageId?: string) =>
    publish('accountingService', type, payload, {
      replyTo,
      correlationId: saga,
      ...(messageId ? { messageId } : {}),
    });

  const authorize = command(
    'AuthorizeCommand',
    { consumerId: 7, orderId: 100, orderTotal: '61.70' },
    'saga-ok',
  );
  command('AuthorizeCommand', { consumerId: 7, orderId: 100, orderTotal: '61.70' }, 'saga-ok', authorize);
  t.match(await repliesOf(replies, 'saga-ok'), [{ type: 'Success' }], 'authorized');
  t.same((await get('/bills/100')).body, {
    orderId: 100,
    consumerId: 7,
    amount: '61.70',
    state: 'AUTHORIZED',
  });

  command('AuthorizeCommand', { consumerId: 8, orderId: 101, orderTotal: '10.00' }, 'saga-no-account');
  t.match(await repliesOf(replies, 'saga-no-account'), [
    { type: 'Failure', payload: { reason: /no account/ } },
  ]);
  command('AuthorizeCommand', { consumerId: 7, orderId: 102, orderTotal: '1234.00' }, 'saga-declined');
  t.match(await repliesOf(replies, 'saga-declined'), [
    { type: 'Failure', payload: { reason: /card limit/ } },
  ]);
  t.equal((await get('/bills/102')).status, 404, 'a declined card leaves no bill');

  command('AuthorizeCommand', { consumerId: 7, orderId: 103, orderTotal: '1000.00' }, 'saga-at-limit');
  t.match(await repliesOf(replies, 'saga-at-limit'), [{ type: 'Success' }], 'the limit itself is taken');
  t.equal((await get('/bills/103')).body.amount, '1000.00');

  const revise = command(
    'ReviseAuthorization',
    { consumerId: 7, orderId: 100, orderTotal: '123.40' },
    'saga-revise',
  );
  t.match(await repliesOf(replies, 'saga-revise'), [{ type: 'Success' }]);
  t.equal((await get('/bills/100')).body.amount, '123.40', 'the revised amount');
  command('ReviseAuthorization', { consumerId: 7, orderId: 100, orderTotal: '2000.00' }, 'saga-revise-over');
  t.match(await repliesOf(replies, 'saga-revise-over'), [
    { type: 'Failure', payload: { reason: /card limit/ } },
  ]);
  t.equal((await get('/bills/100')).body.amount, '123.40', 'a declined revision changes nothing');
  command('ReviseAuthorization', { consumerId: 8, orderId: 101, orderTotal: '1.00' }, 'saga-revise-none');
  t.match(await repliesOf(replies, 'saga-revise-none'), [
    { type: 'Failure', payload: { reason: /no account/ } },
  ]);
  command('ReviseAuthorization', { consumerId: 7, orderId: 100, orderTotal: '50.00' }, 'saga-revise-2');
  t.match(await repliesOf(replies, 'saga-revise-2'), [{ type: 'Success' }]);
  // The first revision delivered again would put back its amount.
  command(
    'ReviseAuthorization',
    { consumerId: 7, orderId: 100, orderTotal: '123.40' },
    'saga-revise',
    revise,
  );

  command('ReverseAuthorization', { consumerId: 7, orderId: 100, orderTotal: '50.00' }, 'saga-cancel');
  t.match(await repliesOf(replies, 'saga-cancel'), [{ type: 'Success' }]);
  t.match(
    (await get('/bills/100')).body,
    { amount: '50.00', state: 'REVERSED' },
    'the repeated revision changed nothing',
  );
  // The authorization delivered again would authorize the cancelled order's bill again.
  command('AuthorizeCommand', { consumerId: 7, orderId: 100, orderTotal: '61.70' }, 'saga-ok', authorize);
  command(
    'ReverseAuthorization',
    { consumerId: 7, orderId: 104, orderTotal: '1.00' },
    'saga-never-authorized',
  );
  t.match(
    await repliesOf(replies, 'saga-never-authorized'),
    [{ type: 'Success' }],
    'nothing authorized, nothing to reverse',
  );
  t.equal((await get('/bills/104')).status, 404, 'and no bill made');
  t.match(
    (await get('/bills/100')).body,
    { amount: '50.00', state: 'REVERSED' },
    'the repeated authorization changed nothing',
  );

  command('AuthorizeCommand', { consumerId: 7, orderTotal: 'lots' }, 'saga-malformed');
  t.match(await repliesOf(replies, 'saga-malformed'), [
    { type: 'Failure', payload: { reason: 'malformed command' } },
  ]);
  // Replies come in command order on one queue: by now the redelivered command would have been answered.
  t.equal(
    replies.filter((r) => r.correlationId === 'saga-ok').length,
    1,
    'the redelivered command answered once',
  );
  t.equal(
    replies.filter((r) => r.correlationId === 'saga-revise').length,
    1,
    'the redelivered revision answered once',
  );
  t.equal((await get('/bills/999')).status, 404);
});

t.test('as a process: ACCOUNTING_CARD_LIMIT from the environment; a bad one stops the start', async (t) => {
  const env = { ...(await brokers.serviceEnv('ftgo_accounting')), ACCOUNTING_CARD_LIMIT: '10.00' };
  const proc = spawnNode(t, main, [], { env });
  await readyAddress(proc);
  const replies = await brokers.listen(t, replyTo);
  const publish = await brokers.publisher(t);
  publish('Consumer', 'ConsumerCreated', { consumerId: 1, name: { firstName: 'J', lastName: 'D' } });
  const options = { replyTo, correlationId: 'saga-1' };
  publish(
    'accountingService',
    'AuthorizeCommand',
    { consumerId: 1, orderId: 1, orderTotal: '12.34' },
    options,
  );
  t.match(await repliesOf(replies, 'saga-1'), [{ type: 'Failure', payload: { reason: /card limit/ } }]);
  t.same(await proc.stop(), { code: 0, signal: null }, 'SIGTERM stops it cleanly');

  const bad = spawnNode(t, main, [], { env: { ...env, ACCOUNTING_CARD_LIMIT: 'plenty' } });
  t.equal((await bad.exited).code, 2, 'exit 2: bad configuration');
  t.match(bad.transcript(), /ACCOUNTING_CARD_LIMIT must be an amount/);
});
