/**
 * Order History Service (port 8086): the CQRS view of a consumer's orders (design notes 2.6.2), kept in
 * its own tables from the Order events and served as the original's `GET /orders?consumerId=`.
 */

import type { FastifyInstance } from 'fastify';
import type { RowDataPacket } from 'mysql2/promise';
import type { Migration } from '../../common/src/db.js';
import { idParams, idSchema, messageBody } from '../../common/src/schemas.js';
import type { ServiceContext, ServiceDefinition } from '../../common/src/service.js';
import { ftgoPorts } from '../../common/src/services.js';
import { orderHandlers } from './view.js';

const migrations: Migration[] = [
  {
    id: '0001-order-history',
    sql: [
      `CREATE TABLE order_history (
        order_id BIGINT PRIMARY KEY,
        consumer_id BIGINT NOT NULL,
        status VARCHAR(30) NOT NULL,
        version BIGINT NOT NULL,
        created BOOLEAN NOT NULL,
        restaurant_id BIGINT NULL,
        restaurant_name VARCHAR(200) NULL,
        order_total DECIMAL(19,2) NULL,
        line_items LONGTEXT NULL,
        creation_date DATETIME(3) NULL,
        KEY by_consumer (consumer_id, created, creation_date)
      )`,
    ],
  },
];

const order = {
  type: 'object',
  required: [
    'orderId',
    'status',
    'restaurantId',
    'restaurantName',
    'orderTotal',
    'lineItems',
    'creationDate',
  ],
  properties: {
    orderId: { type: 'integer' },
    status: { type: 'string' },
    restaurantId: { type: ['integer', 'null'] },
    restaurantName: { type: 'string' },
    orderTotal: { type: ['string', 'null'] },
    lineItems: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          menuItemId: { type: 'string' },
          name: { type: 'string' },
          price: { type: ['string', 'null'] },
          quantity: { type: 'integer' },
        },
      },
    },
    creationDate: { type: 'string' },
  },
} as const;

interface OrderRow extends RowDataPacket {
  order_id: number;
  status: string;
  restaurant_id: number | null;
  restaurant_name: string;
  order_total: string | null;
  line_items: string | null;
  creation_date: Date;
}

const selectOrders =
  'SELECT order_id, status, restaurant_id, restaurant_name, order_total, line_items, creation_date FROM order_history';

function toOrder(row: OrderRow) {
  return {
    orderId: Number(row.order_id),
    status: row.status,
    restaurantId: row.restaurant_id === null ? null : Number(row.restaurant_id),
    restaurantName: row.restaurant_name,
    orderTotal: row.order_total === null ? null : String(row.order_total),
    lineItems: row.line_items === null ? [] : (JSON.parse(row.line_items) as unknown[]),
    creationDate: row.creation_date.toISOString(),
  };
}

function routes(app: FastifyInstance, context: ServiceContext): void {
  app.get<{ Querystring: { consumerId: number } }>(
    '/orders',
    {
      schema: {
        querystring: { type: 'object', required: ['consumerId'], properties: { consumerId: idSchema } },
        response: {
          200: {
            type: 'object',
            required: ['orders'],
            properties: { orders: { type: 'array', items: order } },
          },
        },
      },
    },
    async (request) => {
      const [rows] = await context.pool.query<OrderRow[]>(
        `${selectOrders} WHERE consumer_id = ? AND created ORDER BY creation_date DESC, order_id DESC`,
        [request.query.consumerId],
      );
      return { orders: rows.map(toOrder) };
    },
  );

  app.get<{ Params: { orderId: number } }>(
    '/orders/:orderId',
    {
      schema: {
        params: idParams('orderId'),
        response: { 200: order, 404: messageBody },
      },
    },
    async (request, reply) => {
      const [rows] = await context.pool.query<OrderRow[]>(`${selectOrders} WHERE order_id = ? AND created`, [
        request.params.orderId,
      ]);
      const row = rows[0];
      if (!row) return reply.code(404).send({ message: `order ${request.params.orderId} not found` });
      return toOrder(row);
    },
  );
}

export const orderHistoryService: ServiceDefinition = {
  name: 'order-history-service',
  port: ftgoPorts['order-history-service'],
  database: 'ftgo_order_history',
  migrations,
  routes,
  subscriptions: (context) => [
    { queue: 'order-history-service.events', channels: ['Order'], handlers: orderHandlers(context.log) },
  ],
};
