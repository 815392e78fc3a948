/**
 * The Order aggregate in its table: its lines (name and price copied from the restaurant replica when
 * the order is placed), its total in cents, its state, and the events it publishes through the outbox.
 */

import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { formatLocalDateTime } from '../../common/src/local-date-time.js';
import { formatCents } from '../../common/src/money.js';
import { addToOutbox } from '../../common/src/outbox.js';

export const orderChannel = 'Order';

export type OrderState =
  | 'APPROVAL_PENDING'
  | 'APPROVED'
  | 'REJECTED'
  | 'CANCEL_PENDING'
  | 'CANCELLED'
  | 'REVISION_PENDING';

export interface OrderLine {
  menuItemId: string;
  name: string;
  /** Cents. */
  price: number;
  quantity: number;
}

export interface OrderRow extends RowDataPacket {
  id: number;
  consumer_id: number;
  restaurant_id: number;
  restaurant_name: string;
  state: OrderState;
  line_items: string;
  total_cents: number;
  delivery_address: string;
  delivery_time: Date | null;
}

export const orderTable = `CREATE TABLE orders (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  consumer_id BIGINT NOT NULL,
  restaurant_id BIGINT NOT NULL,
  restaurant_name VARCHAR(200) NOT NULL,
  state VARCHAR(20) NOT NULL,
  line_items TEXT NOT NULL,
  total_cents BIGINT NOT NULL,
  delivery_address TEXT NOT NULL,
  delivery_time DATETIME NULL
)`;

export function totalOf(lines: readonly OrderLine[]): number {
  return lines.reduce((sum, line) => sum + line.price * line.quantity, 0);
}

/** Lines as the events and the API show them: prices as decimal strings. */
export function linesView(lines: readonly OrderLine[]) {
  return lines.map((line) => ({ ...line, price: formatCents(line.price) }));
}

export function orderView(row: OrderRow) {
  return {
    orderId: Number(row.id),
    state: row.state,
    orderTotal: formatCents(Number(row.total_cents)),
    consumerId: Number(row.consumer_id),
    restaurantId: Number(row.restaurant_id),
    restaurantName: row.restaurant_name,
    lineItems: linesView(JSON.parse(row.line_items) as OrderLine[]),
    deliveryAddress: JSON.parse(row.delivery_address) as unknown,
    deliveryTime: formatLocalDateTime(row.delivery_time),
  };
}

export async function findOrder(
  conn: Pick<PoolConnection, 'query'>,
  orderId: number,
  lock = false,
): Promise<OrderRow | undefined> {
  const [rows] = await conn.query<OrderRow[]>(
    `SELECT * FROM orders WHERE id = ?${lock ? ' FOR UPDATE' : ''}`,
    [orderId],
  );
  return rows[0];
}

export async function setState(conn: PoolConnection, orderId: number, state: OrderState): Promise<void> {
  await conn.query('UPDATE orders SET state = ? WHERE id = ?', [state, orderId]);
}

/** An Order event; every one names the consumer (Order History files orders by consumer). */
export async function publishOrderEvent(
  conn: PoolConnection,
  type: string,
  order: { orderId: number; consumerId: number },
  payload: Record<string, unknown> = {},
): Promise<void> {
  await addToOutbox(conn, {
    destination: orderChannel,
    type,
    aggregateType: orderChannel,
    aggregateId: String(order.orderId),
    payload: { orderId: order.orderId, consumerId: order.consumerId, ...payload },
  });
}
