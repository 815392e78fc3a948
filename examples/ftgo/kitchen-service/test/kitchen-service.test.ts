/**
 * Kitchen Service against a real MariaDB and RabbitMQ: restaurants replicated from RestaurantCreated, a
 * ticket through every saga command (answered on the reply channel) and the restaurant's REST steps with
 * their events, 409 for a step the state does not allow, a redelivered command answered once; then as a
 * process, accept publishing TicketAccepted with a Jackson date array.
 */

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { distDir, spawnNode } from '../../../../test/support/process.js';
import { waitFor } from '../../../../test/support/wait.js';
import { loadConfig } from '../../common/src/config.js';
import { startService } from '../../common/src/service.js';
import { ftgoBrokers, type Received, readyAddress } from '../../common/test/support/brokers.js';
import { kitchenService } from '../src/service.js';

const brokers = ftgoBrokers(t);
/** Where the order sagas' replies go (examples/ftgo/README.md, Message contract). */
const replyTo = 'orderService.replies';
const menu = { menuItems: [{ id: '1', name: 'Chicken Vindaloo', price: '12.34' }] };

async function repliesOf(replies: Received[], correlationId: string): Promise<Received[]> {
  await waitFor(() => replies.some((r) => r.correlationId === correlationId), {
    timeoutMs: 20_000,
    what: `the reply for ${correlationId}`,
  });
  return replies.filter((r) => r.correlationId === correlationId);
}

t.test('saga commands and REST steps move a ticket; events and replies as the contract says', async (t) => {
  const env = { ...(await brokers.serviceEnv('ftgo_kitchen')), LOG_LEVEL: 'warn' };
  const config = loadConfig('kitchen-service', { port: 8083, database: 'unused' }, env);
  const replies = await brokers.listen(t, replyTo);
  const events = await brokers.listen(t, 'Ticket');
  const publish = await brokers.publisher(t);
  const service = await startService(kitchenService, config);
  t.teardown(() => service.close());
  const { app } = service;
  const get = async (url: string) => {
    const answer = await app.inject({ method: 'GET', url });
    return { status: answer.statusCode, body: answer.json() as Record<string, unknown> };
  };
  const post = async (url: string, payload: unknown = {}) => {
    const answer = await app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
    return { status: answer.statusCode, body: answer.json() as Record<string, unknown> };
  };
  let sagas = 0;
  /** Sends a command and returns its reply. */
  const command = async (type: string, payload: Record<string, unknown>, messageId?: string) => {
    const saga = `saga-${++sagas}`;
    publish('kitchenService', type, payload, {
      replyTo,
      correlationId: saga,
      ...(messageId ? { messageId } : {}),
    });
    return (await repliesOf(replies, saga))[0] as Received;
  };
  const stateOf = async (orderId: number) => (await get(`/tickets/${orderId}`)).body.state;

  t.equal((await get('/restaurants/5')).status, 404, 'not replicated yet');
  t.match(await command('CreateTicket', { orderId: 1, restaurantId: 5, lineItems: [] }), {
    type: 'Failure',
    payload: { reason: /restaurant 5 unknown/ },
  });
  const restaurantCreated = publish('Restaurant', 'RestaurantCreated', {
    id: 5,
    name: 'My Restaurant',
    menu,
  });
  await waitFor(async () => (await get('/restaurants/5')).status === 200, {
    what: 'the restaurant replicated',
  });
  t.match((await get('/restaurants/5')).body, { id: 5, name: 'My Restaurant', menu });

  const lineItems = [{ menuItemId: '1', name: 'Chicken Vindaloo', quantity: 5 }];
  const create = { orderId: 1, restaurantId: 5, lineItems };
  t.match(await command('CreateTicket', create), { type: 'Success', payload: { ticketId: 1 } });
  t.match((await get('/tickets/1')).body, {
    ticketId: 1,
    orderId: 1,
    restaurantId: 5,
    state: 'CREATE_PENDING',
    lineItems,
  });
  t.equal(
    (await post('/tickets/1/accept', { readyBy: '2026-12-24T18:45:00' })).status,
    409,
    'not yet awaiting acceptance',
  );
  t.match(await command('CreateTicket', create), { type: 'Failure' }, 'a second ticket for the order');
  t.match(await command('ConfirmCreateTicket', { orderId: 1 }), { type: 'Success' });
  t.equal(await stateOf(1), 'AWAITING_ACCEPTANCE');
  t.match(
    await command('ConfirmReviseTicket', {
      orderId: 1,
      revisedLineItems: [{ menuItemId: '1', quantity: 1 }],
    }),
    { type: 'Failure', payload: { reason: /not pending revision/ } },
    'no revision begun',
  );
  t.match(
    await command('ConfirmCancelTicket', { orderId: 1 }),
    { type: 'Failure', payload: { reason: /not pending cancellation/ } },
    'no cancel begun',
  );
  t.match(
    (await get('/tickets/1')).body,
    { state: 'AWAITING_ACCEPTANCE', lineItems },
    'both changed nothing',
  );

  // Revise: begun, undone, begun again and confirmed with the new quantities.
  t.match(await command('BeginReviseTicket', { orderId: 1, restaurantId: 5 }), { type: 'Success' });
  t.equal(await stateOf(1), 'REVISION_PENDING', 'the semantic lock');
  t.match(await command('BeginCancelTicket', { orderId: 1, restaurantId: 5 }), { type: 'Failure' }, 'locked');
  t.match(await command('UndoBeginReviseTicket', { orderId: 1 }), { type: 'Success' });
  t.equal(await stateOf(1), 'AWAITING_ACCEPTANCE', 'back where it was');
  t.match(await command('BeginReviseTicket', { orderId: 1, restaurantId: 5 }), { type: 'Success' });
  const revisedLineItems = [{ menuItemId: '1', quantity: 10 }];
  t.match(await command('ConfirmReviseTicket', { orderId: 1, revisedLineItems }), { type: 'Success' });
  t.match((await get('/tickets/1')).body, {
    state: 'AWAITING_ACCEPTANCE',
    lineItems: [{ menuItemId: '1', quantity: 10 }],
  });

  // The restaurant's steps, each publishing its event.
  t.equal((await post('/tickets/1/accept', { readyBy: 'soon' })).status, 400, 'readyBy not a date');
  t.equal((await post('/tickets/1/accept', { readyBy: '2026-12-24T18:45:00' })).status, 200);
  t.equal(
    (await post('/tickets/1/accept', { readyBy: '2026-12-24T18:45:00' })).status,
    409,
    'accepted twice',
  );
  t.match((await get('/tickets/1')).body, { state: 'ACCEPTED', readyBy: '2026-12-24T18:45:00' });
  t.equal((await post('/tickets/1/ready')).status, 409, 'not preparing yet');
  t.equal((await post('/tickets/1/preparing')).status, 200);
  t.equal((await post('/tickets/1/preparing')).status, 409, 'preparing twice');
  t.match(
    await command('BeginCancelTicket', { orderId: 1, restaurantId: 5 }),
    { type: 'Failure', payload: { reason: /can no longer be cancelled/ } },
    'cooking',
  );
  t.match(
    await command('BeginReviseTicket', { orderId: 1, restaurantId: 5, revisedLineItems }),
    { type: 'Failure', payload: { reason: /can no longer be revised/ } },
    'too late to revise',
  );
  t.equal(await stateOf(1), 'PREPARING', 'the refused commands left it cooking');
  t.equal((await post('/tickets/1/ready')).status, 200);
  t.equal(await stateOf(1), 'READY_FOR_PICKUP');
  t.equal((await post('/tickets/1/ready')).status, 409, 'ready twice');
  t.equal(
    (await post('/tickets/1/accept', { readyBy: '2026-12-24T18:45:00' })).status,
    409,
    'accepted after ready',
  );
  t.equal((await post('/tickets/404/preparing')).status, 404);
  t.equal((await post('/tickets/404/ready')).status, 404);
  t.equal((await post('/tickets/404/accept', { readyBy: '2026-12-24T18:45:00' })).status, 404);
  t.equal((await get('/tickets/404')).status, 404);
  t.equal((await post('/tickets/1/accept', {})).status, 400, 'no readyBy');
  await waitFor(() => events.length >= 3, { what: 'three ticket events' });
  t.match(events, [
    { type: 'TicketAccepted', payload: { orderId: 1, restaurantId: 5, readyBy: '2026-12-24T18:45:00' } },
    { type: 'TicketPreparationStarted', payload: { orderId: 1, restaurantId: 5 } },
    { type: 'TicketReadyForPickup', payload: { orderId: 1, restaurantId: 5 } },
  ]);

  // Cancel: begun, undone, then confirmed; a compensated creation; a redelivered command answered once.
  t.match(await command('CreateTicket', { ...create, orderId: 2 }), { type: 'Success' });
  t.match(await command('ConfirmCreateTicket', { orderId: 2 }), { type: 'Success' });
  const beginCancel = randomUUID();
  t.match(await command('BeginCancelTicket', { orderId: 2, restaurantId: 5 }, beginCancel), {
    type: 'Success',
  });
  t.match(await command('UndoBeginCancelTicket', { orderId: 2 }), { type: 'Success' });
  t.equal(await stateOf(2), 'AWAITING_ACCEPTANCE');
  // The Begin delivered again after its Undo would lock the ticket for a cancel nobody runs.
  publish(
    'kitchenService',
    'BeginCancelTicket',
    { orderId: 2, restaurantId: 5 },
    { replyTo, correlationId: 'begin-again', messageId: beginCancel },
  );
  publish(
    'Restaurant',
    'RestaurantCreated',
    { id: 5, name: 'Renamed', menu },
    { messageId: restaurantCreated },
  );
  // One queue, one message at a time: once the next command is answered, the repeat has been handled.
  t.match(await command('BeginReviseTicket', { orderId: 404, restaurantId: 5 }), {
    type: 'Failure',
    payload: { reason: /can no longer be revised/ },
  });
  t.equal(await stateOf(2), 'AWAITING_ACCEPTANCE', 'the repeated Begin changed nothing');
  t.notOk(
    replies.some((r) => r.correlationId === 'begin-again'),
    'nor was it answered again',
  );
  t.match(await command('BeginCancelTicket', { orderId: 2, restaurantId: 5 }), { type: 'Success' });
  t.match(await command('ConfirmCancelTicket', { orderId: 2 }), { type: 'Success' });
  t.equal(await stateOf(2), 'CANCELLED');
  await waitFor(() => events.some((e) => e.type === 'TicketCancelled'), { what: 'TicketCancelled' });

  const once = randomUUID();
  t.match(await command('CreateTicket', { ...create, orderId: 3 }, once), { type: 'Success' });
  publish(
    'kitchenService',
    'CreateTicket',
    { ...create, orderId: 3 },
    { replyTo, correlationId: 'again', messageId: once },
  );
  t.match(await command('CancelCreateTicket', { orderId: 3 }), { type: 'Success' });
  t.equal(await stateOf(3), 'CANCELLED', 'the Create Order saga compensated');
  t.notOk(
    replies.some((r) => r.correlationId === 'again'),
    'the redelivered command was not answered again',
  );
  t.match(
    await command('ConfirmCreateTicket', { orderId: 3 }),
    { type: 'Failure' },
    'a cancelled ticket stays so',
  );
  t.match(await command('CancelCreateTicket', {}), { type: 'Failure', payload: { reason: /no orderId/ } });
  // The restaurants' queue takes one at a time too: once restaurant 6 is there, the repeat was handled.
  publish('Restaurant', 'RestaurantCreated', { id: 6, name: 'Next', menu });
  await waitFor(async () => (await get('/restaurants/6')).status === 200, { what: 'restaurant 6' });
  t.match(
    (await get('/restaurants/5')).body,
    { name: 'My Restaurant' },
    'the repeated RestaurantCreated changed nothing',
  );
});

t.test('as a process: accept with a Jackson date array publishes TicketAccepted', async (t) => {
  const env = await brokers.serviceEnv('ftgo_kitchen');
  const proc = spawnNode(t, join(distDir, 'examples/ftgo/kitchen-service/src/main.js'), [], { env });
  const base = await readyAddress(proc);
  const replies = await brokers.listen(t, replyTo);
  const events = await brokers.listen(t, 'Ticket');
  const publish = await brokers.publisher(t);
  publish('Restaurant', 'RestaurantCreated', { id: 9, name: 'R', menu });
  await waitFor(async () => (await fetch(`${base}/restaurants/9`)).status === 200, { what: 'replicated' });
  const options = { replyTo, correlationId: 'saga-1' };
  publish('kitchenService', 'CreateTicket', { orderId: 7, restaurantId: 9, lineItems: [] }, options);
  publish('kitchenService', 'ConfirmCreateTicket', { orderId: 7 }, { ...options, correlationId: 'saga-2' });
  await repliesOf(replies, 'saga-2');
  const accepted = await fetch(`${base}/tickets/7/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ readyBy: [2026, 12, 24, 18, 45, 0] }),
  });
  t.equal(accepted.status, 200);
  await waitFor(() => events.length === 1, { what: 'TicketAccepted' });
  t.match(events[0], {
    type: 'TicketAccepted',
    payload: { orderId: 7, restaurantId: 9, readyBy: '2026-12-24T18:45:00' },
  });
  t.same(await proc.stop(), { code: 0, signal: null }, 'SIGTERM stops it cleanly');
});
