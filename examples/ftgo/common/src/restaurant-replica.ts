/**
 * A service's copy of the restaurants it needs (Kitchen and Order), kept from RestaurantCreated: the
 * name and the menu as Restaurant published them.
 */

import type { FastifyInstance } from 'fastify';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Message } from './messages.js';
import { idParams } from './schemas.js';

export const restaurantsTable = `CREATE TABLE restaurants (
  id BIGINT PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  menu TEXT NOT NULL
)`;

export interface ReplicatedRestaurant {
  id: number;
  name: string;
  menu: { menuItems: { id: string; name: string; price: string }[] };
}

export async function replicateRestaurant(conn: PoolConnection, event: Message): Promise<void> {
  const { id, name, menu } = event.payload as { id?: unknown; name?: unknown; menu?: unknown };
  if (!Number.isSafeInteger(id)) return;
  await conn.query(
    `INSERT INTO restaurants (id, name, menu) VALUES (?, ?, ?)
     ON DUPLICATE KEY UPDATE name = VALUES(name), menu = VALUES(menu)`,
    [id, String(name ?? ''), JSON.stringify(menu ?? { menuItems: [] })],
  );
}

export async function findRestaurant(
  conn: Pick<PoolConnection, 'query'>,
  id: number,
): Promise<ReplicatedRestaurant | undefined> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT * FROM restaurants WHERE id = ?', [id]);
  const row = rows[0];
  return (
    row && {
      id: Number(row.id),
      name: String(row.name),
      menu: JSON.parse(String(row.menu)) as ReplicatedRestaurant['menu'],
    }
  );
}

/** The subscription that keeps the copy: `<service>.restaurants` on the Restaurant channel. */
export function restaurantReplica(service: string) {
  return {
    queue: `${service}.restaurants`,
    channels: ['Restaurant'],
    handlers: { RestaurantCreated: replicateRestaurant },
  };
}

/** `GET /restaurants/:restaurantId`: the copy, or 404 until RestaurantCreated has arrived. */
export function restaurantRoute(app: FastifyInstance, pool: Pool): void {
  app.get<{ Params: { restaurantId: number } }>(
    '/restaurants/:restaurantId',
    {
      schema: {
        params: idParams('restaurantId'),
      },
    },
    async (request, reply) => {
      const restaurant = await findRestaurant(pool, request.params.restaurantId);
      return (
        restaurant ??
        reply.code(404).send({ message: `restaurant ${request.params.restaurantId} not replicated` })
      );
    },
  );
}
