/**
 * `--workers N` (N > 1): the data path spread over N worker processes (lib/workers), so proxying uses
 * more than one core (most of a proxy's CPU is the write syscalls, one per chunk, which one Node thread
 * runs in series). The primary keeps every decision: it accepts each client (paused, nothing read),
 * applies --max-connections, picks the candidates from its health-checked pools, and hands the socket
 * to the serving worker with the fewest connections. Workers connect and forward (broker.ts) and report
 * back what happened: brokered, refused, closed, backends that failed.
 *
 * The primary keeps its own copy of each socket (`keepOpen`) until the worker reports the outcome,
 * which the worker does before the client sees a backend byte. A worker that dies first, or closes the
 * connection without an outcome, leaves the client to the primary, which answers with an ERR packet
 * instead of a silent close. Sessions a worker was already proxying die with it, as with a crashed
 * server; lib/workers replaces the worker.
 */

import type { Socket } from 'node:net';
import { createServer, type Server } from 'node:net';
import type { Registry } from 'prom-client';
import { distPath } from '../../../lib/dist-path.js';
import { ErrorCode } from '../../../lib/errors.js';
import type { Probe } from '../../../lib/health.js';
import { listen } from '../../../lib/http-server.js';
import type { Logger, LogLevel } from '../../../lib/log.js';
import type { HostPort } from '../../../lib/option-types.js';
import { registerWorkerMetrics } from '../../../lib/workers/metrics.js';
import { type Worker, WorkerPool } from '../../../lib/workers/primary.js';
import type { BackendState } from './backend-pool.js';
import { type BrokerEvents, type DataPath, type Route, refuse } from './broker.js';
import { createByteMetrics, createLimitMetrics, type ListenerName, type RefusalReason } from './metrics.js';

/** What every worker starts with. */
export interface WorkerInit {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxHandshakeBytes: number;
  healthUser: string;
}

/** Primary -> worker (the connection message carries the client socket). */
export type ToWorker =
  | {
      type: 'connection';
      id: number;
      listener: ListenerName;
      candidates: { key: string; host: string; port: number }[];
    }
  | { type: 'closeBackend'; key: string };

/** Worker -> primary. */
export type FromWorker =
  | { type: 'brokered'; id: number; key: string }
  | { type: 'refused'; id: number; reason: RefusalReason }
  | { type: 'failed'; id: number; key: string; detail: string }
  | { type: 'closed'; id: number };

interface Remote {
  listener: ListenerName;
  route: Route;
  worker: Worker;
  /** The primary's copy of the client socket, until the worker reports an outcome. */
  held: Socket | undefined;
  backendKey?: string;
}

export interface BrokerWorkersOptions {
  count: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxHandshakeBytes: number;
  healthUser: string;
  logLevel: LogLevel;
  log: Logger;
  events: BrokerEvents;
  readiness: Probe;
  registry: Registry;
  /** How long the workers may take to drain before they are killed. */
  drainTimeoutMs: number;
}

const workerScript = distPath('ambassadors/mysql-broker/src/worker.js');
const noBytes = () => ({ upstream: 0, downstream: 0 });

export class BrokerWorkers implements DataPath {
  readonly #pool: WorkerPool;
  readonly #servers: Server[] = [];
  readonly #open = new Map<number, Remote>();
  /** Open connections per worker, to choose the least busy. */
  readonly #load = new Map<Worker, number>();
  #nextId = 1;
  #draining = false;

  constructor(private readonly options: BrokerWorkersOptions) {
    this.#pool = new WorkerPool({
      script: workerScript,
      count: options.count,
      log: options.log,
      logLevel: options.logLevel,
      readiness: options.readiness,
      init: (): WorkerInit => ({
        connectTimeoutMs: options.connectTimeoutMs,
        idleTimeoutMs: options.idleTimeoutMs,
        maxHandshakeBytes: options.maxHandshakeBytes,
        healthUser: options.healthUser,
      }),
      onMessage: (worker, message) => this.#onMessage(worker, message as FromWorker),
      onGone: (worker) => this.#onGone(worker),
    });
  }

  async start(): Promise<void> {
    await this.#pool.start();
    await registerWorkerMetrics(this.options.registry, this.#pool, (registry) => {
      createByteMetrics(registry, noBytes);
      createLimitMetrics(registry);
    });
    this.options.log.info({ workers: this.options.count }, 'workers started');
  }

  async listen(listener: ListenerName, address: HostPort, route: Route): Promise<string> {
    const server = createServer({ pauseOnConnect: true, noDelay: true }, (client) =>
      this.#dispatch(client, listener, route),
    );
    const bound = await listen(server, address, `mysql-broker ${listener} listener`);
    this.#servers.push(server);
    this.options.log.info({ listener, address: bound }, 'listening');
    return bound;
  }

  active(listener: ListenerName): number {
    let count = 0;
    for (const remote of this.#open.values()) if (remote.listener === listener) count++;
    return count;
  }

  closeBackend(key: string): number {
    let count = 0;
    for (const remote of this.#open.values()) if (remote.backendKey === key) count++;
    const message: ToWorker = { type: 'closeBackend', key };
    this.#pool.broadcast(message);
    return count;
  }

  /** Listeners close at once; each worker drains its connections (broker.ts) and exits. */
  async drain(): Promise<void> {
    this.#draining = true;
    for (const server of this.#servers) server.close();
    await this.#pool.close(undefined, this.options.drainTimeoutMs);
  }

  #dispatch(client: Socket, listener: ListenerName, route: Route): void {
    if (this.#draining) {
      client.destroy();
      return;
    }
    const { maxConnections } = this.options;
    if (maxConnections > 0 && this.#open.size >= maxConnections) {
      this.#refuse(client, 'max_connections', `--max-connections ${maxConnections} reached`);
      return;
    }
    const candidates = route.candidates();
    if (candidates.length === 0) {
      this.#refuse(client, 'no_backend', route.describe());
      return;
    }
    const worker = this.#leastBusy();
    if (!worker) {
      this.#refuse(client, 'worker_unavailable', 'no worker process is serving');
      return;
    }
    this.#handOver(client, listener, route, candidates, worker);
  }

  #handOver(
    client: Socket,
    listener: ListenerName,
    route: Route,
    candidates: BackendState[],
    worker: Worker,
  ): void {
    const id = this.#nextId++;
    this.#open.set(id, { listener, route, worker, held: client });
    this.#load.set(worker, (this.#load.get(worker) ?? 0) + 1);
    const message: ToWorker = {
      type: 'connection',
      id,
      listener,
      candidates: candidates.map((b) => ({ key: b.key, host: b.address.host, port: b.address.port })),
    };
    worker.send(message, client, { keepOpen: true }, (err) => {
      if (err) this.#answer(id, `could not hand the connection to worker ${worker.id}: ${err.message}`);
    });
  }

  #leastBusy(): Worker | undefined {
    let least: Worker | undefined;
    let leastLoad = Number.POSITIVE_INFINITY;
    for (const worker of this.#pool.serving) {
      const load = this.#load.get(worker) ?? 0;
      if (load < leastLoad) {
        least = worker;
        leastLoad = load;
      }
    }
    return least;
  }

  #onMessage(worker: Worker, message: FromWorker): void {
    const remote = this.#open.get(message.id);
    if (!remote || remote.worker !== worker) return;
    switch (message.type) {
      case 'brokered':
        remote.backendKey = message.key;
        this.options.events.brokered(remote.listener, message.key, message.id);
        this.#release(remote);
        break;
      case 'refused':
        // The worker wrote the ERR packet itself.
        this.options.events.refused(message.reason, message.id);
        this.#release(remote);
        break;
      case 'failed':
        remote.route.markFailed(message.key, message.detail);
        break;
      case 'closed':
        // Without an outcome (a drain that raced the hand-over, a client that left): nothing reached
        // the client from the worker, so it gets the ERR packet from here.
        if (remote.held)
          this.#answer(message.id, `worker ${worker.id} closed the connection before a backend`);
        this.#forget(message.id, remote);
        break;
    }
  }

  #onGone(worker: Worker): void {
    let answered = 0;
    let lost = 0;
    for (const [id, remote] of this.#open) {
      if (remote.worker !== worker) continue;
      if (remote.held) {
        this.#answer(id, `worker ${worker.id} exited before the connection reached a backend`);
        answered++;
      } else {
        this.#forget(id, remote);
        lost++;
      }
    }
    this.#load.delete(worker);
    if (answered + lost === 0) return;
    this.options.log.warn(
      { code: ErrorCode.WORKER, worker: worker.id, sessionsLost: lost, answered },
      'connections of a worker that exited: its sessions closed with it, clients not yet connected got an ERR packet',
    );
  }

  /** The worker has the connection for good: the primary's copy goes (the connection stays). */
  #release(remote: Remote): void {
    remote.held?.destroy();
    remote.held = undefined;
  }

  /** The worker cannot serve the connection: the client gets its ERR packet from the primary's copy. */
  #answer(id: number, detail: string): void {
    const remote = this.#open.get(id);
    if (!remote?.held) return;
    const client = remote.held;
    remote.held = undefined;
    this.#forget(id, remote);
    this.#refuse(client, 'worker_unavailable', detail);
  }

  #forget(id: number, remote: Remote): void {
    if (!this.#open.delete(id)) return;
    const load = this.#load.get(remote.worker);
    if (load !== undefined) this.#load.set(remote.worker, load - 1);
  }

  #refuse(client: Socket, reason: RefusalReason, detail: string): void {
    this.options.events.refused(reason, 0);
    refuse(client, reason, detail, this.options.log);
  }
}
