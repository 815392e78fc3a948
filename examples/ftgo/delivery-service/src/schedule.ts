/**
 * Courier assignment. A delivery waits (`PENDING`) until its order is known and its ticket accepted; then
 * it goes to the least busy available courier (fewest open deliveries, lowest id on a tie) and is
 * `SCHEDULED`. With no courier available it keeps waiting, and the next courier to become available
 * takes it.
 */

import type { PoolConnection, RowDataPacket } from 'mysql2/promise';

/**
 * Every transaction that changes couriers or waiting deliveries takes this one row lock first: two of them
 * (a courier becoming available, a ticket accepted) would otherwise give one courier a delivery each
 * without seeing the other's, or deadlock on each other's rows.
 */
export async function lockScheduling(conn: PoolConnection): Promise<void> {
  await conn.query('SELECT id FROM scheduler_lock WHERE id = 1 FOR UPDATE');
}

/** Assigns couriers to the deliveries waiting for one, oldest ready time first; returns how many. */
export async function scheduleWaiting(conn: PoolConnection): Promise<number> {
  const [waiting] = await conn.query<RowDataPacket[]>(
    `SELECT order_id FROM deliveries
     WHERE state = 'PENDING' AND order_known AND ticket_accepted
     ORDER BY ready_by IS NULL, ready_by, order_id FOR UPDATE`,
  );
  let scheduled = 0;
  for (const delivery of waiting) {
    const [couriers] = await conn.query<RowDataPacket[]>(
      `SELECT c.id FROM couriers c
       LEFT JOIN deliveries d ON d.courier_id = c.id AND d.state IN ('SCHEDULED', 'PICKED_UP')
       WHERE c.available
       GROUP BY c.id
       ORDER BY COUNT(d.order_id), c.id
       LIMIT 1`,
    );
    const courier = couriers[0];
    if (!courier) break;
    await conn.query("UPDATE deliveries SET state = 'SCHEDULED', courier_id = ? WHERE order_id = ?", [
      courier.id,
      delivery.order_id,
    ]);
    scheduled++;
  }
  return scheduled;
}
