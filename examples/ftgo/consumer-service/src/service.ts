/**
 * Consumer Service (port 8081): registers consumers, publishes ConsumerCreated, and answers the Create
 * Order saga's ValidateOrderByConsumer command (verifyConsumerDetails) with Success or Failure.
 */

import type { FastifyInstance } from 'fastify';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Migration } from '../../common/src/db.js';
import type { Message } from '../../common/src/messages.js';
import { addToOutbox } from '../../common/src/outbox.js';
import { idParams, messageBody } from '../../common/src/schemas.js';
import type { ServiceContext, ServiceDefinition } from '../../common/src/service.js';
import { ftgoPorts } from '../../common/src/services.js';

export const consumerChannel = 'Consumer';
export const commandChannel = 'consumerService';

const migrations: Migration[] = [
  {
    id: '0001-consumers',
    sql: [
      `CREATE TABLE consumers (
        id BIGINT AUTO_INCREMENT PRIMARY KEY,
        first_name VARCHAR(200) NOT NULL,
        last_name VARCHAR(200) NOT NULL
      )`,
    ],
  },
];

const personName = {
  type: 'object',
  required: ['firstName', 'lastName'],
  properties: {
    firstName: { type: 'string', minLength: 1, maxLength: 200 },
    lastName: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

interface ConsumerRow extends RowDataPacket {
  id: number;
  first_name: string;
  last_name: string;
}

async function findConsumer(conn: Pick<PoolConnection, 'query'>, id: number) {
  const [rows] = await conn.query<ConsumerRow[]>('SELECT * FROM consumers WHERE id = ?', [id]);
  const row = rows[0];
  return row && { consumerId: Number(row.id), name: { firstName: row.first_name, lastName: row.last_name } };
}

function routes(app: FastifyInstance, context: ServiceContext): void {
  app.post<{ Body: { name: { firstName: string; lastName: string } } }>(
    '/consumers',
    {
      schema: {
        body: { type: 'object', required: ['name'], properties: { name: personName } },
        response: {
          200: { type: 'object', required: ['consumerId'], properties: { consumerId: { type: 'integer' } } },
        },
      },
    },
    async (request) => {
      const { firstName, lastName } = request.body.name;
      const consumerId = await context.transaction(async (conn) => {
        const [result] = await conn.query('INSERT INTO consumers (first_name, last_name) VALUES (?, ?)', [
          firstName,
          lastName,
        ]);
        const id = (result as { insertId: number }).insertId;
        await addToOutbox(conn, {
          destination: consumerChannel,
          type: 'ConsumerCreated',
          aggregateType: 'Consumer',
          aggregateId: String(id),
          payload: { consumerId: id, name: { firstName, lastName } },
        });
        return id;
      });
      return { consumerId };
    },
  );

  app.get<{ Params: { consumerId: number } }>(
    '/consumers/:consumerId',
    {
      schema: {
        params: idParams('consumerId'),
        response: {
          200: {
            type: 'object',
            required: ['consumerId', 'name'],
            properties: { consumerId: { type: 'integer' }, name: personName },
          },
          404: messageBody,
        },
      },
    },
    async (request, reply) => {
      const consumer = await findConsumer(context.pool, request.params.consumerId);
      if (!consumer)
        return reply.code(404).send({ message: `consumer ${request.params.consumerId} not found` });
      return consumer;
    },
  );
}

/** verifyConsumerDetails: a consumer that exists may order; the reply goes to the saga's reply channel. */
async function validateOrderByConsumer(conn: PoolConnection, message: Message): Promise<void> {
  const { consumerId } = message.payload as { consumerId?: unknown };
  const consumer = typeof consumerId === 'number' ? await findConsumer(conn, consumerId) : undefined;
  if (!message.replyTo) return;
  await addToOutbox(conn, {
    destination: message.replyTo,
    type: consumer ? 'Success' : 'Failure',
    ...(message.correlationId ? { correlationId: message.correlationId } : {}),
    payload: consumer ? { consumerId } : { consumerId, reason: 'consumer not found' },
  });
}

export const consumerService: ServiceDefinition = {
  name: 'consumer-service',
  port: ftgoPorts['consumer-service'],
  database: 'ftgo_consumer',
  migrations,
  routes,
  subscriptions: () => [
    {
      queue: 'consumer-service.commands',
      channels: [commandChannel],
      handlers: { ValidateOrderByConsumer: validateOrderByConsumer },
    },
  ],
};
