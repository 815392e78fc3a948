/**
 * The order sagas' commands to Kitchen (channel `kitchenService`), each answered on the saga's reply
 * channel: a ticket created pending, confirmed or cancelled by the Create Order saga; cancels and
 * revisions begun, confirmed or undone by the Cancel and Revise Order sagas.
 */

import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Handler } from '../../common/src/consumer.js';
import type { Message } from '../../common/src/messages.js';
import { addToOutbox } from '../../common/src/outbox.js';
import { replyFailure, replySuccess } from '../../common/src/replies.js';
import { changeable, type LineItem, leavePending, lockTicket, moveTicket } from './tickets.js';

export const ticketChannel = 'Ticket';

type Payload = Record<string, unknown>;

function orderIdOf(message: Message): number | undefined {
  const { orderId } = (message.payload ?? {}) as Payload;
  return Number.isSafeInteger(orderId) && (orderId as number) > 0 ? (orderId as number) : undefined;
}

/** A command naming no order is answered Failure: the saga compensates instead of waiting forever. */
function forOrder(
  handle: (conn: PoolConnection, orderId: number, message: Message) => Promise<void>,
): Handler {
  return async (conn, message) => {
    const orderId = orderIdOf(message);
    if (orderId === undefined) return replyFailure(conn, message, 'malformed command: no orderId');
    await handle(conn, orderId, message);
  };
}

/** Succeeds when the move was made, fails with `why` otherwise. */
async function answer(conn: PoolConnection, message: Message, moved: unknown, why: string): Promise<void> {
  await (moved ? replySuccess(conn, message) : replyFailure(conn, message, why));
}

export async function publishTicketEvent(
  conn: PoolConnection,
  type: string,
  orderId: number,
  payload: Payload,
): Promise<void> {
  await addToOutbox(conn, {
    destination: ticketChannel,
    type,
    aggregateType: ticketChannel,
    aggregateId: String(orderId),
    payload: { orderId, ...payload },
  });
}

async function createTicket(conn: PoolConnection, orderId: number, message: Message): Promise<void> {
  const { restaurantId, lineItems } = message.payload as Payload;
  const [restaurants] = await conn.query<RowDataPacket[]>('SELECT id FROM restaurants WHERE id = ?', [
    restaurantId,
  ]);
  if (restaurants.length === 0)
    return replyFailure(conn, message, `restaurant ${String(restaurantId)} unknown`);
  const items: LineItem[] = Array.isArray(lineItems)
    ? lineItems.map((item: Payload) => ({
        menuItemId: String(item.menuItemId),
        name: String(item.name ?? ''),
        quantity: Number(item.quantity),
      }))
    : [];
  const [result] = await conn.query(
    `INSERT IGNORE INTO tickets (order_id, restaurant_id, state, line_items) VALUES (?, ?, 'CREATE_PENDING', ?)`,
    [orderId, restaurantId, JSON.stringify(items)],
  );
  if ((result as { affectedRows: number }).affectedRows === 0)
    return replyFailure(conn, message, `order ${orderId} has a ticket already`);
  await replySuccess(conn, message, { ticketId: orderId });
}

/** The revised quantities applied to the ticket's lines (a quantity of 0 drops the line). */
async function reviseLines(conn: PoolConnection, orderId: number, revised: unknown): Promise<void> {
  const ticket = await lockTicket(conn, orderId);
  if (!ticket || !Array.isArray(revised)) return;
  const quantities = new Map(
    revised.map((item: Payload) => [String(item.menuItemId), Number(item.quantity)]),
  );
  const lines = (JSON.parse(ticket.line_items) as LineItem[])
    .map((line) => ({ ...line, quantity: quantities.get(line.menuItemId) ?? line.quantity }))
    .filter((line) => line.quantity > 0);
  await conn.query('UPDATE tickets SET line_items = ? WHERE order_id = ?', [JSON.stringify(lines), orderId]);
}

export const kitchenCommands: Record<string, Handler> = {
  CreateTicket: forOrder(createTicket),
  ConfirmCreateTicket: forOrder(async (conn, orderId, message) => {
    const moved = await moveTicket(conn, orderId, ['CREATE_PENDING'], 'AWAITING_ACCEPTANCE');
    await answer(conn, message, moved, `ticket ${orderId} is not pending creation`);
  }),
  CancelCreateTicket: forOrder(async (conn, orderId, message) => {
    await moveTicket(conn, orderId, ['CREATE_PENDING'], 'CANCELLED');
    // A compensation always succeeds: a ticket that was never created has nothing to undo.
    await replySuccess(conn, message);
  }),
  BeginCancelTicket: forOrder(async (conn, orderId, message) => {
    const moved = await moveTicket(conn, orderId, changeable, 'CANCEL_PENDING', true);
    await answer(conn, message, moved, `ticket ${orderId} can no longer be cancelled`);
  }),
  ConfirmCancelTicket: forOrder(async (conn, orderId, message) => {
    const ticket = await moveTicket(conn, orderId, ['CANCEL_PENDING'], 'CANCELLED');
    if (ticket)
      await publishTicketEvent(conn, 'TicketCancelled', orderId, { restaurantId: ticket.restaurant_id });
    await answer(conn, message, ticket, `ticket ${orderId} is not pending cancellation`);
  }),
  UndoBeginCancelTicket: forOrder(async (conn, orderId, message) => {
    await leavePending(conn, orderId, 'CANCEL_PENDING');
    await replySuccess(conn, message);
  }),
  BeginReviseTicket: forOrder(async (conn, orderId, message) => {
    const moved = await moveTicket(conn, orderId, changeable, 'REVISION_PENDING', true);
    await answer(conn, message, moved, `ticket ${orderId} can no longer be revised`);
  }),
  ConfirmReviseTicket: forOrder(async (conn, orderId, message) => {
    const ticket = await leavePending(conn, orderId, 'REVISION_PENDING');
    if (ticket) await reviseLines(conn, orderId, (message.payload as Payload).revisedLineItems);
    await answer(conn, message, ticket, `ticket ${orderId} is not pending revision`);
  }),
  UndoBeginReviseTicket: forOrder(async (conn, orderId, message) => {
    await leavePending(conn, orderId, 'REVISION_PENDING');
    await replySuccess(conn, message);
  }),
};
