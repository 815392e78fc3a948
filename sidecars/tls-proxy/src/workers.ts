/**
 * --workers N: the primary forks N workers that accept on one shared listener. SCHED_NONE lets each
 * worker accept directly (node's default round-robin passes every connection through the primary,
 * which costs throughput). The primary keeps the lifecycle, the admin server and the certificates; it
 * pushes new certificates to every worker, sums their metrics at scrape time, replaces a worker that
 * dies, and drains them all on shutdown.
 */

import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { Backoff } from '../../../lib/backoff.js';
import { distPath } from '../../../lib/dist-path.js';
import { ErrorCode } from '../../../lib/errors.js';
import type { LogLevel } from '../../../lib/log.js';
import type { ProxyConfig } from './config.js';
import type { BoundAddresses } from './data-plane.js';
import { isMessage, type MaterialMessage, type ToPrimary, type ToWorker } from './ipc.js';
import type { WorkerMetricsSource } from './remote-metrics.js';
import type { TlsMaterial } from './tls-material.js';

export interface WorkerPoolOptions {
  count: number;
  config: ProxyConfig;
  material: TlsMaterial;
  ticketKeys: Buffer;
  log: Logger;
  logLevel: LogLevel;
  onUpstreamRefused(): void;
  /** Number of workers serving changed (readiness shows it). */
  onServing(serving: number): void;
}

export interface WorkerPool extends WorkerMetricsSource {
  readonly addresses: BoundAddresses;
  setMaterial(material: TlsMaterial): Promise<void>;
  close(tunnelGraceMs: number): Promise<void>;
}

const workerScript = distPath('sidecars/tls-proxy/src/worker.js');
const replyTimeoutMs = 5000;
const startupTimeoutMs = 60_000;

export async function startWorkers(options: WorkerPoolOptions): Promise<WorkerPool> {
  const { log } = options;
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: workerScript, args: [] });

  let material = options.material;
  let stopping = false;
  let nextId = 1;
  const serving = new Set<Worker>();
  const pending = new Map<number, (message: ToPrimary) => void>();
  const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });

  const send = (worker: Worker, message: ToWorker) => {
    if (worker.isConnected()) worker.send(message);
  };

  /** Sends a request to every serving worker and collects the replies that arrive in time. */
  const ask = <T extends ToPrimary>(make: (id: number) => ToWorker): Promise<T[]> =>
    Promise.all(
      [...serving].map(
        (worker) =>
          new Promise<T | undefined>((resolve) => {
            const id = nextId++;
            const timer = setTimeout(() => {
              pending.delete(id);
              resolve(undefined);
            }, replyTimeoutMs);
            pending.set(id, (reply) => {
              clearTimeout(timer);
              pending.delete(id);
              resolve(reply as T);
            });
            send(worker, make(id));
          }),
      ),
    ).then((replies) => replies.filter((reply) => reply !== undefined) as T[]);

  const fork = (): Promise<BoundAddresses> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork();
      let listening = false;
      // A worker that never reports in must not hold start-up (and with it the whole process) forever.
      const startup = setTimeout(() => {
        reject(new Error(`worker ${worker.id} did not listen within ${startupTimeoutMs / 1000} s`));
        worker.kill('SIGKILL');
      }, startupTimeoutMs);
      worker.on('message', (message: unknown) => {
        if (!isMessage<ToPrimary>(message)) return;
        switch (message.type) {
          case 'hello':
            send(worker, {
              type: 'init',
              config: options.config,
              material: toMessage(material),
              ticketKeys: options.ticketKeys.toString('hex'),
              logLevel: options.logLevel,
            });
            return;
          case 'listening':
            listening = true;
            clearTimeout(startup);
            serving.add(worker);
            options.onServing(serving.size);
            backoff.reset();
            resolve(message.addresses);
            return;
          case 'failed':
            clearTimeout(startup);
            reject(new Error(message.message));
            return;
          case 'upstream-refused':
            options.onUpstreamRefused();
            return;
          case 'material-applied':
          case 'metrics':
            pending.get(message.id)?.(message);
            return;
        }
      });
      worker.once('exit', (code, signal) => {
        clearTimeout(startup);
        serving.delete(worker);
        options.onServing(serving.size);
        if (!listening) reject(new Error(`worker exited during start-up (code ${code}, signal ${signal})`));
        if (stopping) return;
        const delay = backoff.next();
        log.error(
          { code: ErrorCode.WORKER, worker: worker.id, exitCode: code, signal, restartInMs: delay },
          'worker exited unexpectedly; starting a replacement',
        );
        setTimeout(() => {
          if (!stopping)
            fork().catch((err: Error) => log.error({ code: ErrorCode.WORKER, err: err.message }));
        }, delay).unref();
      });
    });

  let addresses: BoundAddresses;
  try {
    [addresses] = (await Promise.all(Array.from({ length: options.count }, fork))) as [BoundAddresses];
  } catch (err) {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    throw err;
  }

  return {
    addresses,
    async setMaterial(next) {
      material = next;
      const replies = await ask((id) => ({ type: 'material', id, material: toMessage(next) }));
      if (replies.length < serving.size) log.warn('a worker did not confirm the new certificate in time');
    },
    async collect() {
      const replies = await ask<Extract<ToPrimary, { type: 'metrics' }>>((id) => ({ type: 'metrics', id }));
      return replies.map((reply) => reply.metrics);
    },
    async close(tunnelGraceMs) {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) return resolve();
              worker.once('exit', () => resolve());
              send(worker, { type: 'drain', tunnelGraceMs });
            }),
        ),
      );
    },
  };
}

function toMessage(material: TlsMaterial): MaterialMessage {
  return { ...material };
}
