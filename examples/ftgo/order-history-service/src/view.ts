/**
 * The order history view (CQRS, design notes 2.6.2): one row per order, kept from the Order events.
 *
 * Ordering: each row keeps `version`, the `eventId` header of the last event applied (the order
 * service's outbox row id, which grows with each event it sends, so with each event of one order). An
 * event whose eventId is not above the row's version is older than what the row shows (a late or
 * repeated copy) and changes nothing: the conditional update of design notes 2.6.3. Independently of
 * eventIds, a status never leaves CANCELLED or REJECTED (final in the order's state machine) and never goes
 * back to APPROVAL_PENDING, which also covers a sender that sends no eventId.
 *
 * An event may arrive before its order's OrderCreated: it leaves a row that is not listed (`created`
 * false) until OrderCreated fills in the restaurant, the lines and the creation date.
 */

import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Handler } from '../../common/src/consumer.js';
import type { Message } from '../../common/src/messages.js';
import { formatCents, toCents } from '../../common/src/money.js';

const statusByEvent: Record<string, string> = {
  OrderCreated: 'APPROVAL_PENDING',
  OrderApproved: 'APPROVED',
  OrderRejected: 'REJECTED',
  OrderCancelled: 'CANCELLED',
  OrderRevised: 'APPROVED',
};

const finalStatuses = new Set(['CANCELLED', 'REJECTED']);

interface LineItem {
  menuItemId: string;
  name: string;
  price: string | null;
  quantity: number;
}

interface ViewRow extends RowDataPacket {
  status: string;
  version: number;
  created: number;
  line_items: string | null;
}

function id(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : undefined;
}

function lineItems(value: unknown): LineItem[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((raw) => {
    const item = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const cents = toCents(item.price);
    return {
      menuItemId: String(item.menuItemId ?? ''),
      name: String(item.name ?? ''),
      price: cents === undefined ? null : formatCents(cents),
      quantity: Number.isInteger(item.quantity) ? (item.quantity as number) : 0,
    };
  });
}

function total(value: unknown): string | null {
  const cents = toCents(value);
  return cents === undefined ? null : formatCents(cents);
}

/** Whether an event may set the status: newer than the row and allowed by the order's lifecycle. */
function moves(row: ViewRow, status: string, eventId: number | undefined): boolean {
  if (eventId !== undefined && eventId <= Number(row.version)) return false;
  if (finalStatuses.has(row.status)) return false;
  return status !== 'APPROVAL_PENDING' || row.status === 'APPROVAL_PENDING';
}

async function apply(conn: PoolConnection, message: Message, log: Logger): Promise<void> {
  const payload = (message.payload && typeof message.payload === 'object' ? message.payload : {}) as Record<
    string,
    unknown
  >;
  const orderId = id(payload.orderId);
  const consumerId = id(payload.consumerId);
  const status = statusByEvent[message.type] as string;
  if (orderId === undefined || consumerId === undefined) {
    log.warn(
      { messageId: message.messageId, type: message.type },
      'Order event without orderId or consumerId dropped',
    );
    return;
  }
  const items = lineItems(payload.lineItems);
  const orderTotal = payload.orderTotal === undefined ? undefined : total(payload.orderTotal);
  const version = message.eventId ?? 0;
  const [rows] = await conn.query<ViewRow[]>(
    'SELECT status, version, created, line_items FROM order_history WHERE order_id = ? FOR UPDATE',
    [orderId],
  );
  const row = rows[0];
  const created = message.type === 'OrderCreated';
  if (!row) {
    await conn.query(
      `INSERT INTO order_history (order_id, consumer_id, status, version, created, restaurant_id,
         restaurant_name, order_total, line_items, creation_date)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        orderId,
        consumerId,
        status,
        version,
        created,
        created ? (id(payload.restaurantId) ?? null) : null,
        created ? String(payload.restaurantName ?? '') : null,
        orderTotal ?? null,
        items ? JSON.stringify(items) : null,
        created ? new Date() : null,
      ],
    );
    return;
  }
  if (created && !row.created) {
    // What only OrderCreated says never changes: filled in whenever it arrives.
    await conn.query(
      `UPDATE order_history SET created = TRUE, restaurant_id = ?, restaurant_name = ?, creation_date = ?
       WHERE order_id = ?`,
      [id(payload.restaurantId) ?? null, String(payload.restaurantName ?? ''), new Date(), orderId],
    );
    // Lines and total from OrderCreated when no later event gave them.
    if (row.line_items === null && items)
      await conn.query('UPDATE order_history SET line_items = ?, order_total = ? WHERE order_id = ?', [
        JSON.stringify(items),
        orderTotal ?? null,
        orderId,
      ]);
  }
  if (!moves(row, status, message.eventId)) {
    log.info(
      { orderId, type: message.type, eventId: message.eventId, status: row.status },
      'older Order event ignored',
    );
    return;
  }
  await conn.query(
    `UPDATE order_history SET status = ?, version = GREATEST(version, ?),
       line_items = COALESCE(?, line_items), order_total = COALESCE(?, order_total)
     WHERE order_id = ?`,
    [status, version, items ? JSON.stringify(items) : null, orderTotal ?? null, orderId],
  );
}

export function orderHandlers(log: Logger): Record<string, Handler> {
  const handler: Handler = (conn, message) => apply(conn, message, log);
  return Object.fromEntries(Object.keys(statusByEvent).map((type) => [type, handler]));
}
