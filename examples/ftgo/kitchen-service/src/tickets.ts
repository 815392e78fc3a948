/**
 * A ticket's states and the moves between them, one row per order (the ticket id is the order id). The
 * sagas' Begin* commands park the ticket in a pending state and remember where it was, so an Undo puts
 * it back and a Confirm finishes the move: the semantic lock of the design notes (2.4.3).
 */

import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { formatLocalDateTime } from '../../common/src/local-date-time.js';

export type TicketState =
  | 'CREATE_PENDING'
  | 'AWAITING_ACCEPTANCE'
  | 'ACCEPTED'
  | 'PREPARING'
  | 'READY_FOR_PICKUP'
  | 'CANCEL_PENDING'
  | 'REVISION_PENDING'
  | 'CANCELLED';

/** The states a cancel or a revision may still start from: the kitchen has not begun cooking. */
export const changeable: readonly TicketState[] = ['AWAITING_ACCEPTANCE', 'ACCEPTED'];

export interface LineItem {
  menuItemId: string;
  name: string;
  quantity: number;
}

export interface TicketRow extends RowDataPacket {
  order_id: number;
  restaurant_id: number;
  state: TicketState;
  previous_state: TicketState | null;
  line_items: string;
  ready_by: Date | null;
}

export async function lockTicket(conn: PoolConnection, orderId: number): Promise<TicketRow | undefined> {
  const [rows] = await conn.query<TicketRow[]>('SELECT * FROM tickets WHERE order_id = ? FOR UPDATE', [
    orderId,
  ]);
  return rows[0];
}

/**
 * Moves the ticket from one of `from` to `to` (keeping where it was when `remember`); the row before
 * the move, or undefined when there is no ticket or its state does not allow it.
 */
export async function moveTicket(
  conn: PoolConnection,
  orderId: number,
  from: readonly TicketState[],
  to: TicketState,
  remember = false,
): Promise<TicketRow | undefined> {
  const ticket = await lockTicket(conn, orderId);
  if (!ticket || !from.includes(ticket.state)) return undefined;
  await conn.query('UPDATE tickets SET state = ?, previous_state = ? WHERE order_id = ?', [
    to,
    remember ? ticket.state : null,
    orderId,
  ]);
  return ticket;
}

/** A pending move undone or confirmed: back to (or on from) the state the Begin* command left. */
export async function leavePending(
  conn: PoolConnection,
  orderId: number,
  pending: TicketState,
): Promise<TicketRow | undefined> {
  const ticket = await lockTicket(conn, orderId);
  if (!ticket || ticket.state !== pending || !ticket.previous_state) return undefined;
  await conn.query('UPDATE tickets SET state = previous_state, previous_state = NULL WHERE order_id = ?', [
    orderId,
  ]);
  return ticket;
}

export function ticketView(row: TicketRow) {
  return {
    ticketId: Number(row.order_id),
    orderId: Number(row.order_id),
    restaurantId: Number(row.restaurant_id),
    state: row.state,
    ...(row.ready_by ? { readyBy: formatLocalDateTime(row.ready_by) } : {}),
    lineItems: JSON.parse(row.line_items) as LineItem[],
  };
}
