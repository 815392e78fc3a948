/**
 * Reading deliveries and courier plans as the original's JSON has them. A courier's plan is derived from
 * its assignments: each open delivery is a PICKUP at the restaurant (at the ticket's ready time) and a
 * DROPOFF at the consumer (at the order's delivery time).
 */

import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { formatLocalDateTime } from '../../common/src/local-date-time.js';

type Queryable = Pick<Pool | PoolConnection, 'query'>;

export interface CourierAction {
  type: 'PICKUP' | 'DROPOFF';
  deliveryId: number;
  address: unknown;
  time: string | null;
}

export interface DeliveryStatus {
  deliveryInfo: { id: number; state: string };
  assignedCourier: number | null;
  courierActions: CourierAction[];
}

interface DeliveryRow extends RowDataPacket {
  order_id: number;
  state: string;
  courier_id: number | null;
  pickup_address: string | null;
  delivery_address: string | null;
  ready_by: Date | null;
  delivery_time: Date | null;
}

const selectDeliveries = `SELECT d.order_id, d.state, d.courier_id, r.address AS pickup_address,
    d.delivery_address, d.ready_by, d.delivery_time
  FROM deliveries d LEFT JOIN restaurants r ON r.id = d.restaurant_id`;

function parsed(json: string | null): unknown {
  return json === null ? null : JSON.parse(json);
}

function actions(row: DeliveryRow): CourierAction[] {
  const deliveryId = Number(row.order_id);
  return [
    {
      type: 'PICKUP',
      deliveryId,
      address: parsed(row.pickup_address),
      time: formatLocalDateTime(row.ready_by),
    },
    {
      type: 'DROPOFF',
      deliveryId,
      address: parsed(row.delivery_address),
      time: formatLocalDateTime(row.delivery_time),
    },
  ];
}

/** The delivery of `orderId` once its OrderCreated has arrived; undefined before. */
export async function findDelivery(db: Queryable, orderId: number): Promise<DeliveryStatus | undefined> {
  const [rows] = await db.query<DeliveryRow[]>(`${selectDeliveries} WHERE d.order_id = ? AND d.order_known`, [
    orderId,
  ]);
  const row = rows[0];
  if (!row) return undefined;
  const courier = row.courier_id === null ? null : Number(row.courier_id);
  return {
    deliveryInfo: { id: Number(row.order_id), state: row.state },
    assignedCourier: courier,
    courierActions: courier === null ? [] : actions(row),
  };
}

/** A courier and the actions of its open deliveries in time order; undefined for an unknown courier. */
export async function findCourier(db: Queryable, courierId: number) {
  const [couriers] = await db.query<RowDataPacket[]>('SELECT id, available FROM couriers WHERE id = ?', [
    courierId,
  ]);
  const courier = couriers[0];
  if (!courier) return undefined;
  const [rows] = await db.query<DeliveryRow[]>(
    `${selectDeliveries} WHERE d.courier_id = ? AND d.state IN ('SCHEDULED', 'PICKED_UP')
     ORDER BY d.ready_by, d.order_id`,
    [courierId],
  );
  return {
    courierId: Number(courier.id),
    available: Boolean(courier.available),
    plan: rows.flatMap(actions),
  };
}
