/**
 * Accounting Service (port 8085): an account per consumer, opened on ConsumerCreated; the Create, Revise
 * and Cancel Order sagas' card authorizations (AuthorizeCommand, ReviseAuthorization,
 * ReverseAuthorization), each answered Success or Failure on the saga's reply channel; the bill of an
 * order (`GET /bills/:orderId`) for the gateway's composed read.
 */

import type { FastifyInstance } from 'fastify';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Migration } from '../../common/src/db.js';
import type { Message } from '../../common/src/messages.js';
import { formatCents, toCents } from '../../common/src/money.js';
import { replyFailure, replySuccess } from '../../common/src/replies.js';
import { idParams, messageBody as notFound } from '../../common/src/schemas.js';
import type { ServiceContext, ServiceDefinition } from '../../common/src/service.js';
import { ftgoPorts } from '../../common/src/services.js';
import { loadCardLimit } from './card-limit.js';

export const commandChannel = 'accountingService';

const migrations: Migration[] = [
  {
    id: '0001-accounts',
    sql: [
      `CREATE TABLE accounts (
        id BIGINT AUTO_INCREMENT PRIMARY KEY,
        consumer_id BIGINT NOT NULL UNIQUE
      )`,
      `CREATE TABLE authorizations (
        order_id BIGINT PRIMARY KEY,
        consumer_id BIGINT NOT NULL,
        amount DECIMAL(19,2) NOT NULL,
        state VARCHAR(20) NOT NULL
      )`,
    ],
  },
];

interface AccountRow extends RowDataPacket {
  id: number;
  consumer_id: number;
}

interface AuthorizationRow extends RowDataPacket {
  order_id: number;
  consumer_id: number;
  amount: string;
  state: string;
}

function routes(app: FastifyInstance, context: ServiceContext): void {
  app.get<{ Params: { consumerId: number } }>(
    '/accounts/:consumerId',
    {
      schema: {
        params: idParams('consumerId'),
        response: {
          200: {
            type: 'object',
            required: ['accountId', 'consumerId'],
            properties: { accountId: { type: 'integer' }, consumerId: { type: 'integer' } },
          },
          404: notFound,
        },
      },
    },
    async (request, reply) => {
      const [rows] = await context.pool.query<AccountRow[]>('SELECT * FROM accounts WHERE consumer_id = ?', [
        request.params.consumerId,
      ]);
      const row = rows[0];
      if (!row)
        return reply.code(404).send({ message: `no account for consumer ${request.params.consumerId}` });
      return { accountId: Number(row.id), consumerId: Number(row.consumer_id) };
    },
  );

  app.get<{ Params: { orderId: number } }>(
    '/bills/:orderId',
    {
      schema: {
        params: idParams('orderId'),
        response: {
          200: {
            type: 'object',
            required: ['orderId', 'consumerId', 'amount', 'state'],
            properties: {
              orderId: { type: 'integer' },
              consumerId: { type: 'integer' },
              amount: { type: 'string' },
              state: { type: 'string', enum: ['AUTHORIZED', 'REVERSED'] },
            },
          },
          404: notFound,
        },
      },
    },
    async (request, reply) => {
      const [rows] = await context.pool.query<AuthorizationRow[]>(
        'SELECT * FROM authorizations WHERE order_id = ?',
        [request.params.orderId],
      );
      const row = rows[0];
      if (!row) return reply.code(404).send({ message: `no bill for order ${request.params.orderId}` });
      return {
        orderId: Number(row.order_id),
        consumerId: Number(row.consumer_id),
        amount: formatCents(toCents(row.amount) as number),
        state: row.state,
      };
    },
  );
}

async function openAccount(conn: PoolConnection, message: Message): Promise<void> {
  const { consumerId } = message.payload as { consumerId?: unknown };
  if (typeof consumerId !== 'number') return;
  await conn.query('INSERT IGNORE INTO accounts (consumer_id) VALUES (?)', [consumerId]);
}

interface CardCommand {
  consumerId: number;
  orderId: number;
  cents: number;
}

function readCommand(message: Message): CardCommand | undefined {
  const { consumerId, orderId, orderTotal } = message.payload as Record<string, unknown>;
  const cents = toCents(orderTotal);
  if (typeof consumerId !== 'number' || typeof orderId !== 'number' || cents === undefined) return undefined;
  return { consumerId, orderId, cents };
}

/** Why a charge of `cents` to the consumer's card is declined, or undefined when it is authorized. */
async function declined(conn: PoolConnection, command: CardCommand, limitCents: number) {
  const [accounts] = await conn.query<AccountRow[]>('SELECT id FROM accounts WHERE consumer_id = ?', [
    command.consumerId,
  ]);
  if (accounts.length === 0) return `no account for consumer ${command.consumerId}`;
  if (command.cents > limitCents) return `declined: ${formatCents(command.cents)} is above the card limit`;
  return undefined;
}

function cardHandlers(limitCents: number) {
  return {
    async AuthorizeCommand(conn: PoolConnection, message: Message) {
      const command = readCommand(message);
      if (!command) return replyFailure(conn, message, 'malformed command');
      const why = await declined(conn, command, limitCents);
      if (!why) {
        await conn.query(
          `INSERT INTO authorizations (order_id, consumer_id, amount, state) VALUES (?, ?, ?, 'AUTHORIZED')
           ON DUPLICATE KEY UPDATE amount = VALUES(amount), state = 'AUTHORIZED'`,
          [command.orderId, command.consumerId, formatCents(command.cents)],
        );
      }
      await (why ? replyFailure(conn, message, why) : replySuccess(conn, message));
    },
    async ReviseAuthorization(conn: PoolConnection, message: Message) {
      const command = readCommand(message);
      if (!command) return replyFailure(conn, message, 'malformed command');
      const why = await declined(conn, command, limitCents);
      if (!why) {
        await conn.query(`UPDATE authorizations SET amount = ? WHERE order_id = ? AND state = 'AUTHORIZED'`, [
          formatCents(command.cents),
          command.orderId,
        ]);
      }
      await (why ? replyFailure(conn, message, why) : replySuccess(conn, message));
    },
    async ReverseAuthorization(conn: PoolConnection, message: Message) {
      const command = readCommand(message);
      if (command) {
        await conn.query(`UPDATE authorizations SET state = 'REVERSED' WHERE order_id = ?`, [
          command.orderId,
        ]);
      }
      // Reversing what was never authorized leaves nothing to undo: the saga may go on.
      await replySuccess(conn, message);
    },
  };
}

export const accountingService: ServiceDefinition = {
  name: 'accounting-service',
  port: ftgoPorts['accounting-service'],
  database: 'ftgo_accounting',
  migrations,
  routes,
  subscriptions: () => [
    {
      queue: 'accounting-service.consumers',
      channels: ['Consumer'],
      handlers: { ConsumerCreated: openAccount },
    },
    {
      queue: 'accounting-service.commands',
      channels: [commandChannel],
      handlers: cardHandlers(loadCardLimit(process.env)),
    },
  ],
};
