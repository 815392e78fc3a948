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
import type { TlsState } from './tls-server.js';

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

/** TlsState as it crosses the IPC channel (JSON): the ticket keys in hex. */
export interface TlsUpdate {
  material: TlsMaterial;
  ticketKeys: string;
}

/** The primary's requests, by name: `tls` asks a worker to serve new certificates or ticket keys. */
export interface WorkerRequests {
  tls(update: TlsUpdate): void;
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
  setTls(state: TlsState): Promise<void>;
  close(tunnelGraceMs: number, timeoutMs: number): Promise<void>;
}

const workerScript = distPath('sidecars/tls-proxy/src/worker.js');

export async function startWorkers(options: WorkersOptions): Promise<Workers> {
  let current: TlsState = { material: options.material, ticketKeys: options.ticketKeys };
  const pool = new WorkerPool<BoundAddresses>({
    script: workerScript,
    count: options.count,
    log: options.log,
    logLevel: options.logLevel,
    readiness: options.readiness,
    init: (): WorkerInit => ({
      config: options.config,
      material: current.material,
      ticketKeys: current.ticketKeys.toString('hex'),
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
    async setTls(next) {
      current = next;
      const serving = pool.serving.size;
      const update: TlsUpdate = { material: next.material, ticketKeys: next.ticketKeys.toString('hex') };
      const replies = await pool.request('tls' satisfies keyof WorkerRequests, update);
      if (replies.length < serving) {
        options.log.warn('a worker did not confirm the new certificate or ticket keys in time');
      }
    },
    close: (tunnelGraceMs, timeoutMs) => pool.close({ tunnelGraceMs } satisfies WorkerDrain, timeoutMs),
  };
}
