/**
 * The worker side of lib/workers (see primary.ts): a worker script calls `runWorker` once. It says
 * hello, starts with the data the primary sends, reports ready, answers requests (its metrics among
 * them), and drains when told to. Signals are the primary's business: a SIGTERM or Ctrl-C reaching the
 * whole process group must not end workers behind the primary's back, so they are ignored and the
 * primary drains its workers in order. An uncaught error ends the worker with exit 1 (the primary
 * replaces it); when the primary goes away, node:cluster ends the worker.
 */

import cluster from 'node:cluster';
import { Registry } from 'prom-client';
import { describeError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import {
  type CoreToPrimary,
  type CoreToWorker,
  isCore,
  isMessage,
  metricsRequest,
  type WorkerMessage,
} from './messages.js';

export interface WorkerContext {
  readonly log: Logger;
  /** This worker's metrics; the primary's /metrics sums them over the workers (metrics.ts). */
  readonly registry: Registry;
  /**
   * Sends a component message to the primary. `onSent` runs once the message is in the channel: a
   * step taken after it cannot be seen by anyone before the primary knows of it, even if the worker
   * dies right after that step.
   */
  send(message: WorkerMessage, onSent?: () => void): void;
}

export interface WorkerDefinition<Init, Ready> {
  /** Logs carry this component name (and the worker's id). */
  component: string;
  /** Starts serving with the primary's data; what it resolves with reaches the primary. Throw to fail. */
  start(init: Init, ctx: WorkerContext): Promise<Ready> | Ready;
  /** Answers to the primary's requests, by name. */
  requests?: Record<string, (data: never) => unknown>;
  /** A component message from the primary, with the socket or server it carried, if any. */
  onMessage?(message: WorkerMessage, handle: unknown): void;
  /** Stops taking work and finishes what is in flight; the worker exits 0 when it resolves. */
  drain(data: never): Promise<void>;
}

export function runWorker<Init, Ready>(definition: WorkerDefinition<Init, Ready>): WorkerContext {
  if (!cluster.isWorker)
    throw new Error('a worker script is started by its primary (lib/workers/primary.ts)');
  const log = createLogger(definition.component, 'info').child({ worker: cluster.worker?.id });
  const registry = new Registry();
  const ctx: WorkerContext = {
    log,
    registry,
    send(message, onSent) {
      if (!process.connected) return onSent?.();
      if (onSent) process.send?.(message, undefined, {}, onSent);
      else process.send?.(message);
    },
  };
  const toPrimary = (message: CoreToPrimary) => {
    if (process.connected) process.send?.(message);
  };
  let started = false;
  let draining = false;

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => {});
  const fatal = (err: unknown) => {
    log.fatal({ err: describeError(err) }, 'worker failed');
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  const start = async (init: Init) => {
    try {
      const ready = await definition.start(init, ctx);
      started = true;
      toPrimary({ type: 'workers:ready', data: ready });
    } catch (err) {
      // The reason first (it says more than the exit code), then the exit.
      const failed: CoreToPrimary = { type: 'workers:failed', message: describeError(err) };
      if (process.connected) process.send?.(failed, undefined, {}, () => process.exit(1));
      else process.exit(1);
    }
  };

  const answer = async (id: number, name: string, data: unknown) => {
    try {
      const handler =
        name === metricsRequest ? () => registry.getMetricsAsJSON() : definition.requests?.[name];
      if (!handler) throw new Error(`no handler for request ${name}`);
      toPrimary({ type: 'workers:reply', id, data: await (handler as (data: unknown) => unknown)(data) });
    } catch (err) {
      toPrimary({ type: 'workers:reply', id, error: describeError(err) });
    }
  };

  const drain = async (data: unknown) => {
    if (draining) return;
    draining = true;
    log.debug('draining');
    if (started) await (definition.drain as (data: unknown) => Promise<void>)(data);
    log.debug('drained');
    process.exit(0);
  };

  process.on('message', (message: unknown, handle: unknown) => {
    if (!isMessage(message)) return;
    if (!isCore(message)) {
      definition.onMessage?.(message, handle);
      return;
    }
    const core = message as CoreToWorker;
    switch (core.type) {
      case 'workers:init':
        log.level = core.logLevel;
        void start(core.data as Init);
        return;
      case 'workers:request':
        void answer(core.id, core.name, core.data);
        return;
      case 'workers:drain':
        void drain(core.data);
        return;
    }
  });

  toPrimary({ type: 'workers:hello' });
  return ctx;
}
