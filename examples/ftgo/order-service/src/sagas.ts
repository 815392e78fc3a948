/**
 * The Order Service's three sagas, as the message contract in examples/ftgo/README.md lists them: Create
 * Order (verify consumer, create ticket, authorize card, confirm ticket), Cancel Order and Revise Order.
 * While Cancel or Revise runs the order is CANCEL_PENDING or REVISION_PENDING: the semantic lock that
 * refuses a second one.
 */

import type { PoolConnection } from 'mysql2/promise';
import { formatCents } from '../../common/src/money.js';
import type { SagaDefinition } from '../../common/src/saga.js';
import { linesView, type OrderLine, publishOrderEvent, setState, totalOf } from './orders.js';

interface OrderRef {
  orderId: number;
  consumerId: number;
  restaurantId: number;
}

export interface CreateOrderData extends OrderRef {
  orderTotal: string;
  lineItems: OrderLine[];
}

export interface CancelOrderData extends OrderRef {
  orderTotal: string;
}

export interface ReviseOrderData extends OrderRef {
  revisedLineItems: { menuItemId: string; quantity: number }[];
  /** The order's lines once revised; applied when the saga completes. */
  lineItems: OrderLine[];
}

const kitchen = 'kitchenService';
const accounting = 'accountingService';

export const createOrderSaga: SagaDefinition<CreateOrderData> = {
  type: 'CreateOrderSaga',
  steps: [
    {
      command: ({ consumerId, orderId, orderTotal }) => ({
        channel: 'consumerService',
        type: 'ValidateOrderByConsumer',
        payload: { consumerId, orderId, orderTotal },
      }),
    },
    {
      command: ({ orderId, restaurantId, lineItems }) => ({
        channel: kitchen,
        type: 'CreateTicket',
        payload: {
          orderId,
          restaurantId,
          lineItems: lineItems.map(({ menuItemId, name, quantity }) => ({ menuItemId, name, quantity })),
        },
      }),
      compensation: ({ orderId }) => ({ channel: kitchen, type: 'CancelCreateTicket', payload: { orderId } }),
    },
    {
      command: ({ consumerId, orderId, orderTotal }) => ({
        channel: accounting,
        type: 'AuthorizeCommand',
        payload: { consumerId, orderId, orderTotal },
      }),
    },
    {
      command: ({ orderId }) => ({ channel: kitchen, type: 'ConfirmCreateTicket', payload: { orderId } }),
    },
  ],
  async completed(conn, order) {
    await finish(conn, order, 'APPROVED', 'OrderApproved');
  },
  async rejected(conn, order) {
    await finish(conn, order, 'REJECTED', 'OrderRejected');
  },
};

export const cancelOrderSaga: SagaDefinition<CancelOrderData> = {
  type: 'CancelOrderSaga',
  steps: [
    {
      command: ({ orderId, restaurantId }) => ({
        channel: kitchen,
        type: 'BeginCancelTicket',
        payload: { orderId, restaurantId },
      }),
      compensation: ({ orderId }) => ({
        channel: kitchen,
        type: 'UndoBeginCancelTicket',
        payload: { orderId },
      }),
    },
    {
      command: ({ consumerId, orderId, orderTotal }) => ({
        channel: accounting,
        type: 'ReverseAuthorization',
        payload: { consumerId, orderId, orderTotal },
      }),
    },
    {
      command: ({ orderId }) => ({ channel: kitchen, type: 'ConfirmCancelTicket', payload: { orderId } }),
    },
  ],
  async completed(conn, order) {
    await finish(conn, order, 'CANCELLED', 'OrderCancelled');
  },
  async rejected(conn, { orderId }) {
    // The kitchen already started on it: the order stands as it was.
    await setState(conn, orderId, 'APPROVED');
  },
};

export const reviseOrderSaga: SagaDefinition<ReviseOrderData> = {
  type: 'ReviseOrderSaga',
  steps: [
    {
      command: ({ orderId, restaurantId, revisedLineItems }) => ({
        channel: kitchen,
        type: 'BeginReviseTicket',
        payload: { orderId, restaurantId, revisedLineItems },
      }),
      compensation: ({ orderId }) => ({
        channel: kitchen,
        type: 'UndoBeginReviseTicket',
        payload: { orderId },
      }),
    },
    {
      command: ({ consumerId, orderId, lineItems }) => ({
        channel: accounting,
        type: 'ReviseAuthorization',
        payload: { consumerId, orderId, orderTotal: formatCents(totalOf(lineItems)) },
      }),
    },
    {
      command: ({ orderId, revisedLineItems }) => ({
        channel: kitchen,
        type: 'ConfirmReviseTicket',
        payload: { orderId, revisedLineItems },
      }),
    },
  ],
  async completed(conn, order) {
    const total = totalOf(order.lineItems);
    await conn.query(`UPDATE orders SET state = 'APPROVED', line_items = ?, total_cents = ? WHERE id = ?`, [
      JSON.stringify(order.lineItems),
      total,
      order.orderId,
    ]);
    await publishOrderEvent(conn, 'OrderRevised', order, {
      lineItems: linesView(order.lineItems),
      orderTotal: formatCents(total),
      state: 'APPROVED',
    });
  },
  async rejected(conn, { orderId }) {
    await setState(conn, orderId, 'APPROVED');
  },
};

async function finish(
  conn: PoolConnection,
  order: OrderRef,
  state: 'APPROVED' | 'REJECTED' | 'CANCELLED',
  event: string,
): Promise<void> {
  await setState(conn, order.orderId, state);
  await publishOrderEvent(conn, event, order, { state });
}
