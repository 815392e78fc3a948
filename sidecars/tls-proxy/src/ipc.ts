/**
 * Messages between the primary and its workers (--workers > 1), over node:cluster's IPC channel. The
 * primary owns options, certificates and the lifecycle; workers only serve, so everything they need
 * arrives in `init` and every change arrives as a message.
 */

import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { LogLevel } from '../../../lib/log.js';
import type { ProxyConfig } from './config.js';
import type { BoundAddresses } from './data-plane.js';

/** Certificate material as sent to a worker (the PEM text; never logged). */
export interface MaterialMessage {
  certPem: string;
  keyPem: string;
  caPem: string | undefined;
  fingerprint: string;
  caFingerprint: string | undefined;
  subject: string;
  notAfter: number;
}

export type ToWorker =
  | { type: 'init'; config: ProxyConfig; material: MaterialMessage; ticketKeys: string; logLevel: LogLevel }
  | { type: 'material'; id: number; material: MaterialMessage }
  | { type: 'metrics'; id: number }
  | { type: 'drain'; tunnelGraceMs: number };

export type ToPrimary =
  /** Sent once the worker listens for messages: anything sent before that would be lost. */
  | { type: 'hello' }
  | { type: 'listening'; addresses: BoundAddresses }
  | { type: 'failed'; message: string }
  | { type: 'material-applied'; id: number }
  | { type: 'metrics'; id: number; metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { type: 'upstream-refused' };

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}
