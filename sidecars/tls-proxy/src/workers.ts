/**
 * --workers N: N worker processes (lib/workers) that accept on one shared listener. The primary keeps
 * the lifecycle, the admin server and the certificates; it pushes new certificates to every worker,
 * sums their metrics at scrape time, and lib/workers replaces a worker that dies and drains them all on
 * shutdown. The messages below ride on lib/workers' channel.
 */

import type { Registry } from 'prom-client';
import { distPath } from '../../../lib/dist-path.js';
import type { Probe } from '../../../lib/health.js';
import type { Logger, LogLevel } from '../../../lib/log.js';
import { registerWorkerMetrics } from '../../../lib/workers/metrics.js';
import { WorkerPool } from '../../../lib/workers/primary.js';
import type { ProxyConfig } from './config.js';
import type { BoundAddresses } from './data-plane.js';
import { createDataPlaneMetrics } from './metrics.js';
import type { TlsMaterial } from './tls-material.js';

/** What a worker starts with: everything it serves with arrives here, options are never re-parsed. */
export interface WorkerInit {
  config: ProxyConfig;
  material: TlsMaterial;
  /** Hex: session tickets sealed by one worker must open on any other. */
  ticketKeys: string;
}

/** Worker -> primary: a proxied request was refused by the upstream (at most one a second). */
export interface UpstreamRefused {
  type: 'upstream-refused';
}

/** The primary's requests, by name: `material` asks a worker to serve a new certificate. */
export interface WorkerRequests {
  material(material: TlsMaterial): void;
}

export interface WorkerDrain {
  tunnelGraceMs: number;
}

export interface WorkersOptions {
  count: number;
  config: ProxyConfig;
  material: TlsMaterial;
  ticketKeys: Buffer;
  log: Logger;
  logLevel: LogLevel;
  readiness: Probe;
  registry: Registry;
  onUpstreamRefused(): void;
}

export interface Workers {
  readonly addresses: BoundAddresses;
  setMaterial(material: TlsMaterial): Promise<void>;
  close(tunnelGraceMs: number, timeoutMs: number): Promise<void>;
}

const workerScript = distPath('sidecars/tls-proxy/src/worker.js');

export async function startWorkers(options: WorkersOptions): Promise<Workers> {
  let material = options.material;
  const pool = new WorkerPool<BoundAddresses>({
    script: workerScript,
    count: options.count,
    log: options.log,
    logLevel: options.logLevel,
    readiness: options.readiness,
    init: (): WorkerInit => ({
      config: options.config,
      material,
      ticketKeys: options.ticketKeys.toString('hex'),
    }),
    onMessage: (_worker, message) => {
      if (message.type === ('upstream-refused' satisfies UpstreamRefused['type']))
        options.onUpstreamRefused();
    },
  });
  const [addresses] = (await pool.start()) as [BoundAddresses];
  await registerWorkerMetrics(options.registry, pool, createDataPlaneMetrics);

  return {
    addresses,
    async setMaterial(next) {
      material = next;
      const serving = pool.serving.size;
      const replies = await pool.request('material' satisfies keyof WorkerRequests, next);
      if (replies.length < serving) options.log.warn('a worker did not confirm the new certificate in time');
    },
    close: (tunnelGraceMs, timeoutMs) => pool.close({ tunnelGraceMs } satisfies WorkerDrain, timeoutMs),
  };
}
