/**
 * Order Service (port 8082): places orders from the restaurant replica's menu and runs the Create,
 * Cancel and Revise Order sagas (sagas.ts) that involve Consumer, Kitchen and Accounting; the order's
 * state is what clients read, and every change is an Order event for Order History and Delivery.
 */

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Migration } from '../../common/src/db.js';
import { toLocalDateTime } from '../../common/src/local-date-time.js';
import { formatCents, toCents } from '../../common/src/money.js';
import {
  findRestaurant,
  restaurantReplica,
  restaurantRoute,
  restaurantsTable,
} from '../../common/src/restaurant-replica.js';
import { SagaOrchestrator, sagaMigration } from '../../common/src/saga.js';
import { idParams as idParam } from '../../common/src/schemas.js';
import type { ServiceContext, ServiceDefinition } from '../../common/src/service.js';
import { ftgoPorts } from '../../common/src/services.js';
import {
  findOrder,
  linesView,
  type OrderLine,
  type OrderRow,
  orderTable,
  orderView,
  publishOrderEvent,
  setState,
  totalOf,
} from './orders.js';
import { cancelOrderSaga, createOrderSaga, reviseOrderSaga } from './sagas.js';

export const replyChannel = 'orderService.replies';

const migrations: Migration[] = [
  sagaMigration,
  {
    id: '0001-orders',
    sql: [restaurantsTable, orderTable],
  },
];

/** One orchestrator per running service: its reply handlers and its routes share it. */
const orchestrators = new WeakMap<ServiceContext, SagaOrchestrator>();
function orchestratorOf(context: ServiceContext): SagaOrchestrator {
  let orchestrator = orchestrators.get(context);
  if (!orchestrator) {
    orchestrator = new SagaOrchestrator(replyChannel, context.log);
    for (const saga of [createOrderSaga, cancelOrderSaga, reviseOrderSaga])
      orchestrator.register(saga as never);
    orchestrators.set(context, orchestrator);
  }
  return orchestrator;
}

const quantity = { type: 'integer', minimum: 1, maximum: 1000 } as const;

interface CreateOrderBody {
  consumerId: number;
  restaurantId: number;
  deliveryAddress?: Record<string, unknown>;
  deliveryTime?: unknown;
  lineItems: { menuItemId: string; quantity: number }[];
}

type Change = { orderId: number } & ({ saga: 'cancel' } | { saga: 'revise'; revised: Map<string, number> });

function routes(app: FastifyInstance, context: ServiceContext): void {
  const orchestrator = orchestratorOf(context);
  const fail = (reply: FastifyReply, status: number, message: string) => reply.code(status).send({ message });

  restaurantRoute(app, context.pool);

  app.post<{ Body: CreateOrderBody }>(
    '/orders',
    {
      schema: {
        body: {
          type: 'object',
          required: ['consumerId', 'restaurantId', 'lineItems'],
          properties: {
            consumerId: { type: 'integer', minimum: 1 },
            restaurantId: { type: 'integer', minimum: 1 },
            deliveryAddress: { type: 'object' },
            deliveryTime: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'integer' } }] },
            lineItems: {
              type: 'array',
              minItems: 1,
              maxItems: 100,
              items: {
                type: 'object',
                required: ['menuItemId', 'quantity'],
                properties: { menuItemId: { type: 'string', minLength: 1 }, quantity },
              },
            },
          },
        },
        response: {
          200: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'integer' } } },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const restaurant = await findRestaurant(context.pool, body.restaurantId);
      if (!restaurant) return fail(reply, 400, `restaurant ${body.restaurantId} unknown`);
      const deliveryTime = body.deliveryTime === undefined ? null : toLocalDateTime(body.deliveryTime);
      if (deliveryTime === undefined) return fail(reply, 400, 'deliveryTime must be a date and time');
      const lines: OrderLine[] = [];
      for (const item of body.lineItems) {
        const menuItem = restaurant.menu.menuItems.find((m) => m.id === item.menuItemId);
        if (!menuItem)
          return fail(
            reply,
            400,
            `menu item ${item.menuItemId} is not on restaurant ${restaurant.id}'s menu`,
          );
        lines.push({
          menuItemId: menuItem.id,
          name: menuItem.name,
          price: toCents(menuItem.price) ?? 0,
          quantity: item.quantity,
        });
      }
      const total = totalOf(lines);
      const orderId = await context.transaction(async (conn) => {
        const [result] = await conn.query(
          `INSERT INTO orders (consumer_id, restaurant_id, restaurant_name, state, line_items, total_cents, delivery_address, delivery_time)
           VALUES (?, ?, ?, 'APPROVAL_PENDING', ?, ?, ?, ?)`,
          [
            body.consumerId,
            restaurant.id,
            restaurant.name,
            JSON.stringify(lines),
            total,
            JSON.stringify(body.deliveryAddress ?? {}),
            deliveryTime,
          ],
        );
        const id = (result as { insertId: number }).insertId;
        const ref = { orderId: id, consumerId: body.consumerId, restaurantId: restaurant.id };
        await publishOrderEvent(conn, 'OrderCreated', ref, {
          restaurantId: restaurant.id,
          restaurantName: restaurant.name,
          deliveryAddress: body.deliveryAddress ?? {},
          deliveryTime,
          lineItems: linesView(lines),
          orderTotal: formatCents(total),
          state: 'APPROVAL_PENDING',
        });
        await orchestrator.start(conn, createOrderSaga, {
          ...ref,
          orderTotal: formatCents(total),
          lineItems: lines,
        });
        return id;
      });
      return { orderId };
    },
  );

  app.get<{ Params: { orderId: number } }>(
    '/orders/:orderId',
    { schema: { params: idParam('orderId') } },
    async (request, reply) => {
      const order = await findOrder(context.pool, request.params.orderId);
      return order ? orderView(order) : fail(reply, 404, `order ${request.params.orderId} not found`);
    },
  );

  /** Starts a Cancel or Revise saga on an APPROVED order, locking it; 404 / 409 / 400 otherwise. */
  const change = async (reply: FastifyReply, request: Change) => {
    const outcome = await context.transaction(async (conn) => {
      const order = await findOrder(conn, request.orderId, true);
      if (!order) return { status: 404, message: `order ${request.orderId} not found` };
      if (order.state !== 'APPROVED')
        return {
          status: 409,
          message: `order ${request.orderId} is ${order.state}: only an APPROVED order changes`,
        };
      const ref = {
        orderId: Number(order.id),
        consumerId: Number(order.consumer_id),
        restaurantId: Number(order.restaurant_id),
      };
      if (request.saga === 'cancel') {
        await setState(conn, ref.orderId, 'CANCEL_PENDING');
        await orchestrator.start(conn, cancelOrderSaga, {
          ...ref,
          orderTotal: formatCents(Number(order.total_cents)),
        });
      } else {
        const lines = revisedLines(order, request.revised);
        if (typeof lines === 'string') return { status: 400, message: lines };
        await setState(conn, ref.orderId, 'REVISION_PENDING');
        const revisedLineItems = [...request.revised].map(([menuItemId, quantity]) => ({
          menuItemId,
          quantity,
        }));
        await orchestrator.start(conn, reviseOrderSaga, { ...ref, revisedLineItems, lineItems: lines });
      }
      return { status: 200 };
    });
    if (outcome.status !== 200) return fail(reply, outcome.status, outcome.message as string);
    return orderView((await findOrder(context.pool, request.orderId)) as OrderRow);
  };

  app.post<{ Params: { orderId: number } }>(
    '/orders/:orderId/cancel',
    { schema: { params: idParam('orderId') } },
    (request, reply) => change(reply, { orderId: request.params.orderId, saga: 'cancel' }),
  );

  app.post<{
    Params: { orderId: number };
    Body: { revisedOrderLineItems: { menuItemId: string; quantity: number }[] };
  }>(
    '/orders/:orderId/revise',
    {
      schema: {
        params: idParam('orderId'),
        body: {
          type: 'object',
          required: ['revisedOrderLineItems'],
          properties: {
            revisedOrderLineItems: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['menuItemId', 'quantity'],
                properties: { menuItemId: { type: 'string' }, quantity: { ...quantity, minimum: 0 } },
              },
            },
          },
        },
      },
    },
    (request, reply) =>
      change(reply, {
        orderId: request.params.orderId,
        saga: 'revise',
        revised: new Map(request.body.revisedOrderLineItems.map((item) => [item.menuItemId, item.quantity])),
      }),
  );
}

/** The order's lines with the revised quantities (0 drops a line), or why the revision is refused. */
function revisedLines(order: OrderRow, revised: Map<string, number>): OrderLine[] | string {
  const lines = JSON.parse(order.line_items) as OrderLine[];
  for (const menuItemId of revised.keys())
    if (!lines.some((line) => line.menuItemId === menuItemId))
      return `menu item ${menuItemId} is not in the order`;
  const result = lines
    .map((line) => ({ ...line, quantity: revised.get(line.menuItemId) ?? line.quantity }))
    .filter((line) => line.quantity > 0);
  return result.length > 0 ? result : 'a revision must leave at least one line; cancel the order instead';
}

export const orderService: ServiceDefinition = {
  name: 'order-service',
  port: ftgoPorts['order-service'],
  database: 'ftgo_order',
  migrations,
  routes,
  subscriptions: (context) => [
    restaurantReplica('order-service'),
    {
      queue: 'order-service.replies',
      channels: [replyChannel],
      handlers: orchestratorOf(context).replyHandlers(),
    },
  ],
};
