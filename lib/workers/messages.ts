/**
 * The messages lib/workers itself exchanges between a primary and its workers over node:cluster's IPC
 * channel. Their types start with `workers:`; a component's own messages (certificates, connections)
 * are any other `{ type }` object and ride on the same channel untouched.
 */

import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { LogLevel } from '../log-levels.js';

/** A component's own message: anything with a `type` not starting with `workers:`. */
export interface WorkerMessage {
  type: string;
}

export type MetricSnapshot = MetricObjectWithValues<MetricValue<string>>;

/** The request name every worker answers with its registry's metrics. */
export const metricsRequest = 'workers:metrics';

export type CoreToWorker =
  | { type: 'workers:init'; logLevel: LogLevel; data: unknown }
  | { type: 'workers:request'; id: number; name: string; data: unknown }
  | { type: 'workers:drain'; data: unknown };

export type CoreToPrimary =
  /** Sent once the worker listens for messages: anything sent before that would be lost. */
  | { type: 'workers:hello' }
  | { type: 'workers:ready'; data: unknown }
  | { type: 'workers:failed'; message: string }
  | { type: 'workers:reply'; id: number; data?: unknown; error?: string };

export function isMessage(value: unknown): value is WorkerMessage {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}

export function isCore(message: WorkerMessage): boolean {
  return message.type.startsWith('workers:');
}
