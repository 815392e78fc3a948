/**
 * Closed-loop order clients, as the FTGO benchmark runs them against the API gateway (or the bare floor):
 * each client places an order (`POST /orders`), asks for it at once and then every `pollMs`
 * (`GET /orders/:id`) until its `orderInfo.state` is `APPROVED`, then places the next, until the time
 * is up; an order in flight then is finished and counted. Latency runs from sending the POST to the
 * first GET that says APPROVED, so it overstates the saga by up to one poll interval and one GET.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { percentile } from './side-by-side.js';

export interface OrderLoopOptions {
  /** The gateway's origin, `http://127.0.0.1:8087`. */
  origin: string;
  clients: number;
  durationSeconds: number;
  pollMs: number;
  /** The body of client `client`'s orders. */
  order(client: number): unknown;
  /** An order not approved this long after its POST counts as failed. */
  timeoutMs?: number;
}

export interface OrderLoopResult {
  clients: number;
  approved: number;
  /** Approved orders per second of the whole run (until the last order in flight was finished). */
  ordersPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** GETs per approved order. */
  pollsPerOrder: number;
  /** Orders that ended `REJECTED`. */
  rejected: number;
  /** Answers other than 200, errors, and orders not approved in time. */
  failed: number;
  /** The first few failures, for the report. */
  failures: string[];
}

type Outcome = { kind: 'approved'; ms: number; polls: number } | { kind: 'rejected' | 'failed'; why: string };

async function call(pool: Pool, method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await pool.request({
    method,
    path,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200)
    throw new Error(`${method} ${path}: ${response.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function placeOrder(pool: Pool, body: unknown, pollMs: number, timeoutMs: number): Promise<Outcome> {
  const sent = performance.now();
  try {
    const { orderId } = (await call(pool, 'POST', '/orders', body)) as { orderId: number };
    for (let polls = 1; ; polls++) {
      const { orderInfo } = (await call(pool, 'GET', `/orders/${orderId}`)) as {
        orderInfo?: { state?: string };
      };
      const state = orderInfo?.state;
      if (state === 'APPROVED') return { kind: 'approved', ms: performance.now() - sent, polls };
      if (state === 'REJECTED') return { kind: 'rejected', why: `order ${orderId} REJECTED` };
      if (performance.now() - sent > timeoutMs)
        return { kind: 'failed', why: `order ${orderId} still ${state} after ${timeoutMs} ms` };
      await sleep(pollMs);
    }
  } catch (err) {
    return { kind: 'failed', why: (err as Error).message };
  }
}

export async function orderLoop(options: OrderLoopOptions): Promise<OrderLoopResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  // One kept-alive connection per client at most, as each client has one request in flight.
  const pool = new Pool(options.origin, { connections: options.clients });
  const latencies: number[] = [];
  let polls = 0;
  let rejected = 0;
  let failed = 0;
  const failures: string[] = [];
  const started = performance.now();
  const deadline = started + options.durationSeconds * 1000;
  const client = async (index: number) => {
    while (performance.now() < deadline) {
      const outcome = await placeOrder(pool, options.order(index), options.pollMs, timeoutMs);
      if (outcome.kind === 'approved') {
        latencies.push(outcome.ms);
        polls += outcome.polls;
        continue;
      }
      if (outcome.kind === 'rejected') rejected++;
      else failed++;
      if (failures.length < 5) failures.push(outcome.why);
      // A failing service must not be hammered in a tight loop.
      await sleep(options.pollMs);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index)));
  } finally {
    await pool.close();
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    clients: options.clients,
    approved: sorted.length,
    ordersPerSecond: sorted.length / elapsedSeconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    pollsPerOrder: polls / sorted.length,
    rejected,
    failed,
    failures,
  };
}
