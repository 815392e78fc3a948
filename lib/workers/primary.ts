/**
 * The primary side of `--workers N`: forks N copies of a worker script (lib/workers/worker.ts runs in
 * them), hands each its start-up data once it says hello, and counts it as serving once it reports
 * ready. A worker that dies is taken out of the rotation at once and replaced after a backoff; one that
 * does not become ready in time is killed (and, after start-up, replaced the same way). On shutdown
 * every worker is asked to drain and given a bounded time to exit.
 *
 * One mechanism for every component: node:cluster. It gives both ways of spreading work -- workers
 * that accept on a shared listener (tls-proxy; SCHED_NONE, so each worker accepts directly instead of
 * through the primary) and sockets the primary accepted and hands over with `worker.send(msg, socket)`
 * (mysql-broker) -- starts workers with the primary's node flags (the data-plane flags carry over), and
 * ends a worker by itself when the primary's channel goes away.
 */

import cluster, { type Worker } from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff, type BackoffOptions } from '../backoff.js';
import { ErrorCode } from '../errors.js';
import type { Probe } from '../health.js';
import type { Logger, LogLevel } from '../log.js';
import {
  type CoreToPrimary,
  type CoreToWorker,
  isCore,
  isMessage,
  type MetricSnapshot,
  metricsRequest,
  type WorkerMessage,
} from './messages.js';
import { RetiredCounters } from './retired-counters.js';

export type { Worker };

export interface WorkerPoolOptions {
  /** The built worker script, found with lib/dist-path.ts. */
  script: string;
  count: number;
  log: Logger;
  /** The workers log as this component at this level. */
  logLevel: LogLevel;
  /** What a worker gets at start; asked at every fork, so a replacement gets the current state. */
  init(): unknown;
  /** Where the `workers` readiness condition ("2 of 2 serving") goes. */
  readiness?: Probe;
  /** A component message from a worker. */
  onMessage?(worker: Worker, message: WorkerMessage): void;
  /**
   * A worker has exited and every message it sent has arrived: what it still held is gone. Called for
   * every worker, during shutdown too.
   */
  onGone?(worker: Worker): void;
  startupTimeoutMs?: number;
  replyTimeoutMs?: number;
  backoff?: BackoffOptions;
}

type Reply = CoreToPrimary & { type: 'workers:reply' };

interface Pending {
  worker: Worker;
  /** With the reply, or undefined when none will come. */
  settle(reply: Reply | undefined): void;
}

export class WorkerPool<Ready = unknown> {
  readonly #serving = new Set<Worker>();
  /** Every worker forked and not yet gone, with the promise of its going. */
  readonly #alive = new Map<Worker, Promise<void>>();
  readonly #pending = new Map<number, Pending>();
  readonly #retired = new RetiredCounters();
  readonly #respawns = new Set<NodeJS.Timeout>();
  readonly #backoff: Backoff;
  readonly #startupTimeoutMs: number;
  readonly #replyTimeoutMs: number;
  #nextId = 1;
  #started = false;
  #stopping = false;
  readonly #killAll = () => {
    // The primary is exiting (a deadline, a fatal error): no worker may outlive it.
    for (const worker of this.#alive.keys()) worker.process.kill('SIGKILL');
  };

  constructor(private readonly options: WorkerPoolOptions) {
    this.#backoff = new Backoff({ initialMs: 200, maxMs: 10_000, ...options.backoff });
    this.#startupTimeoutMs = options.startupTimeoutMs ?? 60_000;
    this.#replyTimeoutMs = options.replyTimeoutMs ?? 5000;
  }

  /** Forks every worker; resolves with what each reported ready, or rejects (and kills them all). */
  async start(): Promise<Ready[]> {
    // Frozen by node at the first setupPrimary, so set before it.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: this.options.script, args: [] });
    process.on('exit', this.#killAll);
    this.#reportServing();
    try {
      const ready = await Promise.all(Array.from({ length: this.options.count }, () => this.#fork()));
      this.#started = true;
      return ready;
    } catch (err) {
      this.#stopping = true;
      for (const worker of this.#alive.keys()) worker.process.kill('SIGKILL');
      await Promise.all(this.#alive.values());
      process.off('exit', this.#killAll);
      throw err;
    }
  }

  /** The workers serving now, for a component that chooses one per piece of work. */
  get serving(): ReadonlySet<Worker> {
    return this.#serving;
  }

  /** Sends a component message to every serving worker. */
  broadcast(message: WorkerMessage): void {
    for (const worker of this.#serving) this.#send(worker, message);
  }

  /**
   * Asks every serving worker (the handler the worker registered under `name`) and collects the
   * answers that arrive in time; a worker that fails to answer is left out.
   */
  async request<T>(name: string, data?: unknown): Promise<T[]> {
    const replies: (T | undefined)[] = await Promise.all(
      [...this.#serving].map((worker) => this.#ask<T>(worker, name, data)),
    );
    return replies.filter((reply): reply is T => reply !== undefined);
  }

  /**
   * Every serving worker's metrics, plus the counters of workers that have died (their last values
   * seen), so that a sum over the workers never goes backwards when one is replaced.
   */
  async metrics(): Promise<MetricSnapshot[][]> {
    const replies = await Promise.all(
      [...this.#serving].map(async (worker) => {
        const snapshot = await this.#ask<MetricSnapshot[]>(worker, metricsRequest);
        if (snapshot) this.#retired.seen(worker, snapshot);
        return snapshot;
      }),
    );
    const retired = await this.#retired.snapshot();
    return [...replies.filter((reply) => reply !== undefined), ...(retired.length ? [retired] : [])];
  }

  /**
   * Asks every worker to drain (with `data`) and waits for all to exit. Those still running after
   * `timeoutMs` are killed, and the close fails: their work was cut short.
   */
  async close(data: unknown, timeoutMs: number): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#respawns) clearTimeout(timer);
    const workers = [...this.#alive];
    for (const [worker] of workers) this.#send(worker, { type: 'workers:drain', data });
    const all = Promise.all(workers.map(([, gone]) => gone));
    const outcome = await Promise.race([
      all.then(() => 'drained' as const),
      sleep(timeoutMs, 'timeout' as const, { ref: false }),
    ]);
    if (outcome === 'timeout') {
      const left = workers.filter(([worker]) => this.#alive.has(worker)).map(([worker]) => worker);
      for (const worker of left) worker.process.kill('SIGKILL');
      await all;
      process.off('exit', this.#killAll);
      throw new Error(`${left.length} worker(s) did not drain within ${timeoutMs} ms and were killed`);
    }
    process.off('exit', this.#killAll);
  }

  #fork(): Promise<Ready> {
    const { log } = this.options;
    const worker = cluster.fork();
    // 'close': the process has exited and its channel's end was read. Not 'disconnect', which node
    // never emits when the worker dies with sockets still queued for it. Messages read last are
    // emitted on the next tick, hence setImmediate: every message the worker sent has then arrived.
    const gone = new Promise<void>((resolve) =>
      worker.process.once('close', () => setImmediate(() => resolve(this.#gone(worker)))),
    );
    this.#alive.set(worker, gone);
    // A send racing the channel's close reports here instead of throwing.
    worker.on('error', (err: Error) => log.debug({ worker: worker.id, err: err.message }, 'worker channel'));

    return new Promise((resolve, reject) => {
      let ready = false;
      const startup = setTimeout(() => {
        reject(new Error(`worker ${worker.id} did not become ready within ${this.#startupTimeoutMs} ms`));
        worker.process.kill('SIGKILL');
      }, this.#startupTimeoutMs);
      void gone.then(() => {
        clearTimeout(startup);
        if (!ready) {
          const { exitCode, signalCode } = worker.process;
          reject(
            new Error(`worker ${worker.id} exited during start-up (code ${exitCode}, signal ${signalCode})`),
          );
        }
      });
      worker.on('message', (message: unknown) => {
        if (!isMessage(message)) return;
        if (!isCore(message)) {
          this.options.onMessage?.(worker, message);
          return;
        }
        const core = message as CoreToPrimary;
        switch (core.type) {
          case 'workers:hello':
            this.#send(worker, {
              type: 'workers:init',
              logLevel: this.options.logLevel,
              data: this.options.init(),
            });
            return;
          case 'workers:ready':
            if (ready) return;
            ready = true;
            clearTimeout(startup);
            this.#serving.add(worker);
            this.#reportServing();
            this.#backoff.reset();
            resolve(core.data as Ready);
            return;
          case 'workers:failed':
            clearTimeout(startup);
            reject(new Error(core.message));
            return;
          case 'workers:reply':
            this.#pending.get(core.id)?.settle(core);
            return;
        }
      });
    });
  }

  #gone(worker: Worker): void {
    this.#alive.delete(worker);
    if (this.#serving.delete(worker)) this.#reportServing();
    for (const pending of this.#pending.values()) if (pending.worker === worker) pending.settle(undefined);
    this.#retired.retire(worker);
    this.options.onGone?.(worker);
    // A worker lost during the first start fails the start as a whole; at shutdown exits are expected.
    if (this.#stopping || !this.#started) return;
    const delay = this.#backoff.next();
    const { pid, exitCode, signalCode: signal } = worker.process;
    this.options.log.error(
      { code: ErrorCode.WORKER, worker: worker.id, pid, exitCode, signal, restartInMs: delay },
      'worker exited unexpectedly; starting a replacement',
    );
    const timer = setTimeout(() => {
      this.#respawns.delete(timer);
      if (this.#stopping) return;
      this.#fork().then(
        () => this.options.log.info({ serving: this.#serving.size }, 'replacement worker serving'),
        (err: Error) =>
          this.options.log.error({ code: ErrorCode.WORKER, err: err.message }, 'replacement worker failed'),
      );
    }, delay);
    this.#respawns.add(timer);
  }

  #ask<T>(worker: Worker, name: string, data?: unknown): Promise<T | undefined> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(undefined), this.#replyTimeoutMs);
      const settle = (reply: Reply | undefined) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        if (reply?.error)
          this.options.log.warn(
            { worker: worker.id, request: name, err: reply.error },
            'worker request failed',
          );
        resolve(reply && !reply.error ? (reply.data as T) : undefined);
      };
      this.#pending.set(id, { worker, settle });
      if (!this.#send(worker, { type: 'workers:request', id, name, data })) settle(undefined);
    });
  }

  #send(worker: Worker, message: CoreToWorker | WorkerMessage): boolean {
    if (!worker.isConnected()) return false;
    worker.send(message);
    return true;
  }

  #reportServing(): void {
    const { count, readiness } = this.options;
    readiness?.set('workers', this.#serving.size > 0, `${this.#serving.size} of ${count} serving`);
  }
}
