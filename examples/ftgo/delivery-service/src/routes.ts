/** Delivery's REST API as the original's: courier availability, a delivery's status, picked up, delivered. */

import type { FastifyInstance, FastifyReply } from 'fastify';
import { idParams as idParam, messageBody as message } from '../../common/src/schemas.js';
import type { ServiceContext } from '../../common/src/service.js';
import { findCourier, findDelivery } from './deliveries.js';
import { lockScheduling, scheduleWaiting } from './schedule.js';

const anyJson = { type: ['object', 'null'], additionalProperties: true } as const;

const action = {
  type: 'object',
  required: ['type', 'deliveryId'],
  properties: {
    type: { type: 'string', enum: ['PICKUP', 'DROPOFF'] },
    deliveryId: { type: 'integer' },
    address: anyJson,
    time: { type: ['string', 'null'] },
  },
} as const;

const deliveryStatus = {
  type: 'object',
  required: ['deliveryInfo', 'assignedCourier', 'courierActions'],
  properties: {
    deliveryInfo: {
      type: 'object',
      required: ['id', 'state'],
      properties: { id: { type: 'integer' }, state: { type: 'string' } },
    },
    assignedCourier: { type: ['integer', 'null'] },
    courierActions: { type: 'array', items: action },
  },
} as const;

/** The state a delivery must be in for each step, and the state the step leaves it in. */
const steps = {
  pickedup: { from: 'SCHEDULED', to: 'PICKED_UP' },
  delivered: { from: 'PICKED_UP', to: 'DELIVERED' },
} as const;

export function routes(app: FastifyInstance, context: ServiceContext): void {
  app.post<{ Params: { courierId: number }; Body: { available: boolean } }>(
    '/couriers/:courierId/availability',
    {
      schema: {
        params: idParam('courierId'),
        body: {
          type: 'object',
          required: ['available'],
          properties: { available: { type: 'boolean' } },
        },
      },
    },
    async (request, reply) => {
      const { courierId } = request.params;
      const { available } = request.body;
      await context.transaction(async (conn) => {
        await lockScheduling(conn);
        // An unknown courier is created, as the original does.
        await conn.query(
          'INSERT INTO couriers (id, available) VALUES (?, ?) ON DUPLICATE KEY UPDATE available = VALUES(available)',
          [courierId, available],
        );
        if (available) await scheduleWaiting(conn);
      });
      return reply.code(200).send();
    },
  );

  app.get<{ Params: { courierId: number } }>(
    '/couriers/:courierId',
    {
      schema: {
        params: idParam('courierId'),
        response: {
          200: {
            type: 'object',
            required: ['courierId', 'available', 'plan'],
            properties: {
              courierId: { type: 'integer' },
              available: { type: 'boolean' },
              plan: { type: 'array', items: action },
            },
          },
          404: message,
        },
      },
    },
    async (request, reply) => {
      const courier = await findCourier(context.pool, request.params.courierId);
      if (!courier) return reply.code(404).send({ message: `courier ${request.params.courierId} not found` });
      return courier;
    },
  );

  app.get<{ Params: { orderId: number } }>(
    '/deliveries/:orderId',
    { schema: { params: idParam('orderId'), response: { 200: deliveryStatus, 404: message } } },
    async (request, reply) => {
      const delivery = await findDelivery(context.pool, request.params.orderId);
      if (!delivery) return notFound(reply, request.params.orderId);
      return delivery;
    },
  );

  for (const [path, step] of Object.entries(steps)) {
    app.post<{ Params: { orderId: number } }>(
      `/deliveries/:orderId/${path}`,
      {
        schema: {
          params: idParam('orderId'),
          response: { 200: deliveryStatus, 404: message, 409: message },
        },
      },
      async (request, reply) => {
        const { orderId } = request.params;
        const [result] = await context.pool.query(
          'UPDATE deliveries SET state = ? WHERE order_id = ? AND order_known AND state = ?',
          [step.to, orderId, step.from],
        );
        const delivery = await findDelivery(context.pool, orderId);
        if (!delivery) return notFound(reply, orderId);
        if ((result as { affectedRows: number }).affectedRows === 0)
          return reply.code(409).send({
            message: `delivery ${orderId} is ${delivery.deliveryInfo.state}, not ${step.from}`,
          });
        return delivery;
      },
    );
  }
}

function notFound(reply: FastifyReply, orderId: number) {
  return reply.code(404).send({ message: `delivery ${orderId} not found` });
}
