/**
 * Delivery Service (port 8089): deliveries created from OrderCreated, scheduled when the kitchen accepts
 * the ticket (an available courier is assigned), cancelled with their order; couriers report their
 * availability; picked up and delivered through the REST API.
 */

import type { Migration } from '../../common/src/db.js';
import type { ServiceDefinition } from '../../common/src/service.js';
import { ftgoPorts } from '../../common/src/services.js';
import { deliveryHandlers } from './events.js';
import { routes } from './routes.js';

const migrations: Migration[] = [
  {
    id: '0001-deliveries',
    sql: [
      `CREATE TABLE restaurants (
        id BIGINT PRIMARY KEY,
        name VARCHAR(200) NOT NULL,
        address LONGTEXT NOT NULL
      )`,
      `CREATE TABLE couriers (
        id BIGINT PRIMARY KEY,
        available BOOLEAN NOT NULL
      )`,
      // order_known (OrderCreated seen) and ticket_accepted are set by whichever event comes first.
      `CREATE TABLE deliveries (
        order_id BIGINT PRIMARY KEY,
        order_known BOOLEAN NOT NULL DEFAULT FALSE,
        restaurant_id BIGINT NULL,
        state VARCHAR(20) NOT NULL DEFAULT 'PENDING',
        delivery_address LONGTEXT NULL,
        delivery_time DATETIME NULL,
        ticket_accepted BOOLEAN NOT NULL DEFAULT FALSE,
        ready_by DATETIME NULL,
        courier_id BIGINT NULL,
        KEY waiting (state, ticket_accepted),
        KEY courier (courier_id, state)
      )`,
      'CREATE TABLE scheduler_lock (id INT PRIMARY KEY)',
      'INSERT INTO scheduler_lock (id) VALUES (1)',
    ],
  },
];

export const deliveryService: ServiceDefinition = {
  name: 'delivery-service',
  port: ftgoPorts['delivery-service'],
  database: 'ftgo_delivery',
  migrations,
  routes,
  subscriptions: (context) => [
    {
      queue: 'delivery-service.events',
      channels: ['Restaurant', 'Order', 'Ticket'],
      handlers: deliveryHandlers(context.log),
    },
  ],
};
