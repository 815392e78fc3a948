/**
 * A worker process (--workers > 1): serves the shared listener with the same data plane as a single
 * process, and does what the primary tells it. Signals are the primary's business: a SIGTERM or Ctrl-C
 * reaching the whole process group must not kill workers behind the primary's back, so they ignore
 * them and wait for `drain`. When the primary goes away, node:cluster ends the worker.
 */

import cluster from 'node:cluster';
import { Registry } from 'prom-client';
import { describeError } from '../../../lib/errors.js';
import { createLogger, type Logger } from '../../../lib/log.js';
import type { ProxyConfig } from './config.js';
import { createDataPlane, type DataPlane } from './data-plane.js';
import { isMessage, type MaterialMessage, type ToPrimary, type ToWorker } from './ipc.js';
import { createDataPlaneMetrics } from './metrics.js';
import type { TlsMaterial } from './tls-material.js';

function send(message: ToPrimary): void {
  process.send?.(message);
}

function toMaterial(message: MaterialMessage): TlsMaterial {
  return { ...message };
}

let plane: DataPlane | undefined;
let lastRefusalReport = 0;
let log: Logger | undefined;
const registry = new Registry();
const metrics = createDataPlaneMetrics(registry);

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => {});

process.on('uncaughtException', (err) => {
  log?.fatal({ err: describeError(err) }, 'worker failed');
  process.exit(1);
});

async function init(config: ProxyConfig, material: TlsMaterial, ticketKeys: Buffer): Promise<void> {
  plane = createDataPlane({
    config,
    material,
    ticketKeys,
    metrics,
    log: log as Logger,
    onUpstreamRefused: () => {
      // During an outage every request is refused: one message a second is all readiness needs.
      const now = Date.now();
      if (now - lastRefusalReport < 1000) return;
      lastRefusalReport = now;
      send({ type: 'upstream-refused' });
    },
  });
  try {
    send({ type: 'listening', addresses: await plane.listen() });
  } catch (err) {
    send({ type: 'failed', message: describeError(err) });
    process.exit(1);
  }
}

process.on('message', (message: unknown) => {
  if (!isMessage<ToWorker>(message)) return;
  switch (message.type) {
    case 'init':
      log = createLogger('tls-proxy', message.logLevel).child({ worker: cluster.worker?.id });
      void init(message.config, toMaterial(message.material), Buffer.from(message.ticketKeys, 'hex'));
      return;
    case 'material':
      plane?.setMaterial(toMaterial(message.material));
      send({ type: 'material-applied', id: message.id });
      return;
    case 'metrics':
      void registry
        .getMetricsAsJSON()
        .then((values) => send({ type: 'metrics', id: message.id, metrics: values }));
      return;
    case 'drain':
      log?.debug('draining');
      void (plane?.close(message.tunnelGraceMs) ?? Promise.resolve()).then(() => {
        log?.debug('drained');
        process.exit(0);
      });
      return;
  }
});

send({ type: 'hello' });
