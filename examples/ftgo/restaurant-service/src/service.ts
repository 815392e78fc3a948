/**
 * Restaurant Service (port 8084): restaurants and their menus; publishes RestaurantCreated (with the
 * menu), which Kitchen and Order replicate.
 */

import type { FastifyInstance } from 'fastify';
import type { RowDataPacket } from 'mysql2/promise';
import type { Migration } from '../../common/src/db.js';
import { formatCents, moneySchema, toCents } from '../../common/src/money.js';
import { addToOutbox } from '../../common/src/outbox.js';
import { idParams, messageBody } from '../../common/src/schemas.js';
import type { ServiceContext, ServiceDefinition } from '../../common/src/service.js';
import { ftgoPorts } from '../../common/src/services.js';

export const restaurantChannel = 'Restaurant';

const migrations: Migration[] = [
  {
    id: '0001-restaurants',
    sql: [
      `CREATE TABLE restaurants (
        id BIGINT AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(200) NOT NULL,
        address LONGTEXT NOT NULL
      )`,
      `CREATE TABLE menu_items (
        restaurant_id BIGINT NOT NULL,
        position INT NOT NULL,
        id VARCHAR(100) NOT NULL,
        name VARCHAR(200) NOT NULL,
        price DECIMAL(19,2) NOT NULL,
        PRIMARY KEY (restaurant_id, id),
        FOREIGN KEY (restaurant_id) REFERENCES restaurants (id)
      )`,
    ],
  },
];

const address = {
  type: 'object',
  properties: {
    street1: { type: 'string' },
    street2: { type: 'string' },
    city: { type: 'string' },
    state: { type: 'string' },
    zip: { type: 'string' },
  },
} as const;

const menuItemOut = {
  type: 'object',
  required: ['id', 'name', 'price'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, price: { type: 'string' } },
} as const;

interface MenuItemIn {
  id: string;
  name: string;
  price: number | string;
}

interface CreateRestaurant {
  name: string;
  address?: Record<string, string>;
  menu: { menuItems: MenuItemIn[] };
}

function routes(app: FastifyInstance, context: ServiceContext): void {
  app.post<{ Body: CreateRestaurant }>(
    '/restaurants',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'menu'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            address,
            menu: {
              type: 'object',
              required: ['menuItems'],
              properties: {
                menuItems: {
                  type: 'array',
                  maxItems: 500,
                  items: {
                    type: 'object',
                    required: ['id', 'name', 'price'],
                    properties: {
                      id: { type: 'string', minLength: 1, maxLength: 100 },
                      name: { type: 'string', minLength: 1, maxLength: 200 },
                      price: moneySchema,
                    },
                  },
                },
              },
            },
          },
        },
        response: { 200: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } } },
      },
    },
    async (request, reply) => {
      const { name, menu } = request.body;
      // Checked here as well as by the schema: fastify coerces "1.234" to a number, which the schema allows.
      const unpriced = menu.menuItems.find((item) => toCents(item.price) === undefined);
      if (unpriced)
        return reply
          .code(400)
          .send({ message: `menu item ${unpriced.id}: price must have at most two decimals` });
      const items = menu.menuItems.map((item) => ({ ...item, cents: toCents(item.price) as number }));
      const ids = new Set(items.map((item) => item.id));
      if (ids.size !== items.length) return reply.code(400).send({ message: 'menu item ids must be unique' });
      const id = await context.transaction(async (conn) => {
        const [result] = await conn.query('INSERT INTO restaurants (name, address) VALUES (?, ?)', [
          name,
          JSON.stringify(request.body.address ?? {}),
        ]);
        const restaurantId = (result as { insertId: number }).insertId;
        for (const [position, item] of items.entries()) {
          await conn.query(
            'INSERT INTO menu_items (restaurant_id, position, id, name, price) VALUES (?, ?, ?, ?, ?)',
            [restaurantId, position, item.id, item.name, formatCents(item.cents)],
          );
        }
        await addToOutbox(conn, {
          destination: restaurantChannel,
          type: 'RestaurantCreated',
          aggregateType: 'Restaurant',
          aggregateId: String(restaurantId),
          payload: {
            id: restaurantId,
            name,
            address: request.body.address ?? {},
            menu: {
              menuItems: items.map((item) => ({
                id: item.id,
                name: item.name,
                price: formatCents(item.cents),
              })),
            },
          },
        });
        return restaurantId;
      });
      return { id };
    },
  );

  app.get<{ Params: { restaurantId: number } }>(
    '/restaurants/:restaurantId',
    {
      schema: {
        params: idParams('restaurantId'),
        response: {
          200: {
            type: 'object',
            required: ['id', 'name', 'menu'],
            properties: {
              id: { type: 'integer' },
              name: { type: 'string' },
              address,
              menu: {
                type: 'object',
                properties: { menuItems: { type: 'array', items: menuItemOut } },
              },
            },
          },
          404: messageBody,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.restaurantId;
      const [restaurants] = await context.pool.query<RowDataPacket[]>(
        'SELECT * FROM restaurants WHERE id = ?',
        [id],
      );
      const restaurant = restaurants[0];
      if (!restaurant) return reply.code(404).send({ message: `restaurant ${id} not found` });
      const [items] = await context.pool.query<RowDataPacket[]>(
        'SELECT id, name, price FROM menu_items WHERE restaurant_id = ? ORDER BY position',
        [id],
      );
      return {
        id: Number(restaurant.id),
        name: restaurant.name,
        address: JSON.parse(restaurant.address),
        menu: {
          menuItems: items.map((item) => ({ id: item.id, name: item.name, price: String(item.price) })),
        },
      };
    },
  );
}

export const restaurantService: ServiceDefinition = {
  name: 'restaurant-service',
  port: ftgoPorts['restaurant-service'],
  database: 'ftgo_restaurant',
  migrations,
  routes,
};
