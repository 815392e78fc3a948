/**
 * Kitchen Service (port 8083): restaurants replicated from RestaurantCreated, tickets made and moved by
 * the order sagas' commands (commands.ts), and the restaurant's own steps over REST: accept (publishes
 * TicketAccepted, which schedules the delivery), preparing, ready for pickup.
 */

import type { FastifyInstance } from 'fastify';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Migration } from '../../common/src/db.js';
import { toLocalDateTime } from '../../common/src/local-date-time.js';
import { restaurantReplica, restaurantRoute, restaurantsTable } from '../../common/src/restaurant-replica.js';
import { idParams, messageBody as message } from '../../common/src/schemas.js';
import type { ServiceContext, ServiceDefinition } from '../../common/src/service.js';
import { ftgoPorts } from '../../common/src/services.js';
import { kitchenCommands, publishTicketEvent } from './commands.js';
import { moveTicket, type TicketRow, type TicketState, ticketView } from './tickets.js';

const migrations: Migration[] = [
  {
    id: '0001-kitchen',
    sql: [
      restaurantsTable,
      `CREATE TABLE tickets (
        order_id BIGINT PRIMARY KEY,
        restaurant_id BIGINT NOT NULL,
        state VARCHAR(20) NOT NULL,
        previous_state VARCHAR(20) NULL,
        line_items TEXT NOT NULL,
        ready_by DATETIME NULL
      )`,
    ],
  },
];

const orderIdParams = idParams('orderId');

const ticket = {
  type: 'object',
  required: ['ticketId', 'orderId', 'restaurantId', 'state', 'lineItems'],
  properties: {
    ticketId: { type: 'integer' },
    orderId: { type: 'integer' },
    restaurantId: { type: 'integer' },
    state: { type: 'string' },
    readyBy: { type: 'string' },
    lineItems: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          menuItemId: { type: 'string' },
          name: { type: 'string' },
          quantity: { type: 'integer' },
        },
      },
    },
  },
} as const;

/** The restaurant's steps: the state each starts from, where it goes, and the event it publishes. */
const steps: readonly { path: string; from: TicketState; to: TicketState; event: string }[] = [
  { path: 'preparing', from: 'ACCEPTED', to: 'PREPARING', event: 'TicketPreparationStarted' },
  { path: 'ready', from: 'PREPARING', to: 'READY_FOR_PICKUP', event: 'TicketReadyForPickup' },
];

type StepResult = { ok: true } | { ok: false; status: 404 | 409; message: string };

/** Moves the ticket or says why not: 404 without a ticket, 409 when its state does not allow the step. */
async function step(
  conn: PoolConnection,
  orderId: number,
  from: TicketState,
  to: TicketState,
  onMoved: (ticket: TicketRow) => Promise<void>,
): Promise<StepResult> {
  const ticket = await moveTicket(conn, orderId, [from], to);
  if (ticket) {
    await onMoved(ticket);
    return { ok: true };
  }
  const [rows] = await conn.query<RowDataPacket[]>('SELECT state FROM tickets WHERE order_id = ?', [orderId]);
  const state = rows[0]?.state as string | undefined;
  return state
    ? { ok: false, status: 409, message: `ticket ${orderId} is ${state}, not ${from}` }
    : { ok: false, status: 404, message: `no ticket for order ${orderId}` };
}

function routes(app: FastifyInstance, context: ServiceContext): void {
  restaurantRoute(app, context.pool);

  app.get<{ Params: { orderId: number } }>(
    '/tickets/:orderId',
    { schema: { params: orderIdParams, response: { 200: ticket, 404: message } } },
    async (request, reply) => {
      const [rows] = await context.pool.query<TicketRow[]>('SELECT * FROM tickets WHERE order_id = ?', [
        request.params.orderId,
      ]);
      const row = rows[0];
      if (!row) return reply.code(404).send({ message: `no ticket for order ${request.params.orderId}` });
      return ticketView(row);
    },
  );

  app.post<{ Params: { orderId: number }; Body: { readyBy: unknown } }>(
    '/tickets/:orderId/accept',
    {
      schema: {
        params: orderIdParams,
        body: {
          type: 'object',
          required: ['readyBy'],
          properties: {
            readyBy: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'integer' } }] },
          },
        },
      },
    },
    async (request, reply) => {
      const readyBy = toLocalDateTime(request.body.readyBy);
      if (!readyBy)
        return reply
          .code(400)
          .send({ message: 'readyBy must be a date and time such as 2024-01-02T10:30:00' });
      const { orderId } = request.params;
      const result = await context.transaction((conn) =>
        step(conn, orderId, 'AWAITING_ACCEPTANCE', 'ACCEPTED', async (ticket) => {
          await conn.query('UPDATE tickets SET ready_by = ? WHERE order_id = ?', [readyBy, orderId]);
          await publishTicketEvent(conn, 'TicketAccepted', orderId, {
            restaurantId: Number(ticket.restaurant_id),
            readyBy,
          });
        }),
      );
      if (!result.ok) return reply.code(result.status).send({ message: result.message });
      return {};
    },
  );

  for (const { path, from, to, event } of steps) {
    app.post<{ Params: { orderId: number } }>(
      `/tickets/:orderId/${path}`,
      { schema: { params: orderIdParams } },
      async (request, reply) => {
        const { orderId } = request.params;
        const result = await context.transaction((conn) =>
          step(conn, orderId, from, to, (ticket) =>
            publishTicketEvent(conn, event, orderId, { restaurantId: Number(ticket.restaurant_id) }),
          ),
        );
        if (!result.ok) return reply.code(result.status).send({ message: result.message });
        return {};
      },
    );
  }
}

export const kitchenService: ServiceDefinition = {
  name: 'kitchen-service',
  port: ftgoPorts['kitchen-service'],
  database: 'ftgo_kitchen',
  migrations,
  routes,
  subscriptions: () => [
    restaurantReplica('kitchen-service'),
    { queue: 'kitchen-service.commands', channels: ['kitchenService'], handlers: kitchenCommands },
  ],
};
