/**
 * The floor of the FTGO benchmark: node's http server answering the order client's two calls at once,
 * `POST /orders` with a new `{orderId}` and `GET /orders/:id` with an order already `APPROVED` (the
 * gateway's composed shape), with no saga, database or broker behind it: what the client loop and HTTP
 * alone cost on this machine.
 *
 *   node dist/bench/lib/bare-order-api.js <listen port>
 */

import { createServer } from 'node:http';

const [listenPort] = process.argv.slice(2);
let lastOrderId = 0;

createServer((req, res) => {
  // The body is read whole, as a real service parses it, and ignored.
  req.resume();
  req.once('end', () => {
    const body =
      req.method === 'POST'
        ? { orderId: ++lastOrderId }
        : { orderInfo: { orderId: Number(req.url?.split('/')[2]), state: 'APPROVED' } };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
}).listen(Number(listenPort), '127.0.0.1');
