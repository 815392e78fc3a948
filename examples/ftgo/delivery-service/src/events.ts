/**
 * What Delivery learns from the other services' events: restaurants (the pickup address), orders (a
 * delivery created `PENDING`, cancelled with its order) and accepted tickets (the delivery is scheduled).
 * The Order and Ticket channels are separate queues upstream, so a ticket may be accepted before the
 * order's OrderCreated arrives: each event fills in its part of the delivery row, whichever comes first,
 * and the delivery is scheduled once both parts are there.
 */

import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Handler } from '../../common/src/consumer.js';
import { toLocalDateTime } from '../../common/src/local-date-time.js';
import type { Message } from '../../common/src/messages.js';
import { lockScheduling, scheduleWaiting } from './schedule.js';

type Payload = Record<string, unknown>;

function id(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : undefined;
}

function payloadOf(message: Message): Payload {
  const { payload } = message;
  return payload && typeof payload === 'object' ? (payload as Payload) : {};
}

/** A handler for events that name an order; one without a usable orderId is logged and dropped. */
function forOrder(
  log: Logger,
  handle: (conn: PoolConnection, orderId: number, payload: Payload) => Promise<void>,
): Handler {
  return async (conn, message) => {
    const payload = payloadOf(message);
    const orderId = id(payload.orderId);
    if (orderId === undefined) {
      log.warn({ messageId: message.messageId, type: message.type }, 'event without a valid orderId dropped');
      return;
    }
    await handle(conn, orderId, payload);
  };
}

export function deliveryHandlers(log: Logger): Record<string, Handler> {
  return {
    RestaurantCreated: async (conn, message) => {
      const payload = payloadOf(message);
      const restaurantId = id(payload.id);
      if (restaurantId === undefined) {
        log.warn({ messageId: message.messageId }, 'RestaurantCreated without a valid id dropped');
        return;
      }
      await conn.query(
        `INSERT INTO restaurants (id, name, address) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE name = VALUES(name), address = VALUES(address)`,
        [restaurantId, String(payload.name ?? ''), JSON.stringify(payload.address ?? {})],
      );
    },

    OrderCreated: forOrder(log, async (conn, orderId, payload) => {
      await lockScheduling(conn);
      // The state is left alone: an OrderCancelled that came first keeps the delivery cancelled.
      await conn.query(
        `INSERT INTO deliveries (order_id, order_known, restaurant_id, delivery_address, delivery_time)
         VALUES (?, TRUE, ?, ?, ?)
         ON DUPLICATE KEY UPDATE order_known = TRUE, restaurant_id = VALUES(restaurant_id),
           delivery_address = VALUES(delivery_address), delivery_time = VALUES(delivery_time)`,
        [
          orderId,
          id(payload.restaurantId) ?? null,
          JSON.stringify(payload.deliveryAddress ?? null),
          toLocalDateTime(payload.deliveryTime) ?? null,
        ],
      );
      await scheduleWaiting(conn);
    }),

    TicketAccepted: forOrder(log, async (conn, orderId, payload) => {
      await lockScheduling(conn);
      await conn.query(
        `INSERT INTO deliveries (order_id, ticket_accepted, ready_by) VALUES (?, TRUE, ?)
         ON DUPLICATE KEY UPDATE ticket_accepted = TRUE, ready_by = VALUES(ready_by)`,
        [orderId, toLocalDateTime(payload.readyBy) ?? null],
      );
      await scheduleWaiting(conn);
    }),

    OrderCancelled: forOrder(log, async (conn, orderId) => {
      await lockScheduling(conn);
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT state FROM deliveries WHERE order_id = ? FOR UPDATE',
        [orderId],
      );
      const state = rows[0]?.state as string | undefined;
      if (state === undefined) {
        await conn.query("INSERT INTO deliveries (order_id, state) VALUES (?, 'CANCELLED')", [orderId]);
      } else if (state === 'PENDING' || state === 'SCHEDULED') {
        // The courier's plan loses the delivery's actions; the courier is free for the next one.
        await conn.query("UPDATE deliveries SET state = 'CANCELLED', courier_id = NULL WHERE order_id = ?", [
          orderId,
        ]);
      } else if (state !== 'CANCELLED') {
        log.warn({ orderId, state }, 'order cancelled after its pickup: the delivery goes on');
      }
    }),
  };
}
