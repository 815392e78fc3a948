/**
 * `--workers N` (N > 1): the data path spread over N worker processes, so proxying uses more than one
 * core (most of a proxy's CPU is the write syscalls, one per chunk, which one Node thread runs in
 * series). The primary keeps every decision: it accepts each client (paused, nothing read), applies
 * --max-connections, picks the candidates from its health-checked pools, and hands the socket to the
 * worker with the fewest connections. Workers connect and forward (broker.ts) and report back what
 * happened: brokered, refused, closed, backends that failed, bytes.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { distPath } from '../../../lib/dist-path.js';
import { listen } from '../../../lib/http-server.js';
import type { Logger } from '../../../lib/log.js';
import type { HostPort } from '../../../lib/option-types.js';
import { type BrokerEvents, type DataPath, type Route, refuse } from './broker.js';
import type { ListenerName, RefusalReason } from './metrics.js';

export interface WorkerSettings {
  index: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  logLevel: string;
}

/** Primary -> worker. */
export type ToWorker =
  | {
      type: 'connection';
      id: number;
      listener: ListenerName;
      candidates: { key: string; host: string; port: number }[];
    }
  | { type: 'closeBackend'; key: string }
  | { type: 'drain' };

/** Worker -> primary. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'brokered'; id: number; key: string }
  | { type: 'refused'; id: number; reason: RefusalReason }
  | { type: 'failed'; id: number; key: string; detail: string }
  | { type: 'closed'; id: number }
  | { type: 'bytes'; upstream: number; downstream: number };

interface Remote {
  listener: ListenerName;
  route: Route;
  worker: WorkerProcess;
  backendKey?: string;
}

interface WorkerProcess {
  child: ChildProcess;
  open: number;
  bytes: { upstream: number; downstream: number };
  exited: Promise<void>;
}

export interface WorkerPoolOptions {
  count: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  logLevel: string;
  log: Logger;
  events: BrokerEvents;
}

const workerScript = distPath('ambassadors/mysql-broker/src/worker.js');

export class WorkerPool implements DataPath {
  readonly #workers: WorkerProcess[] = [];
  readonly #servers: Server[] = [];
  readonly #open = new Map<number, Remote>();
  #nextId = 1;
  #draining = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.count }, (_, index) => this.#fork(index)));
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

  bytes(): { upstream: number; downstream: number } {
    let upstream = 0;
    let downstream = 0;
    for (const worker of this.#workers) {
      upstream += worker.bytes.upstream;
      downstream += worker.bytes.downstream;
    }
    return { upstream, downstream };
  }

  closeBackend(key: string): number {
    let count = 0;
    for (const remote of this.#open.values()) if (remote.backendKey === key) count++;
    this.#broadcast({ type: 'closeBackend', key });
    return count;
  }

  /** Listeners close at once; each worker drains its connections (broker.ts) and exits. */
  async drain(): Promise<void> {
    this.#draining = true;
    for (const server of this.#servers) server.close();
    this.#broadcast({ type: 'drain' });
    await Promise.all(this.#workers.map((worker) => worker.exited));
  }

  #fork(index: number): Promise<void> {
    const settings: WorkerSettings = {
      index,
      connectTimeoutMs: this.options.connectTimeoutMs,
      idleTimeoutMs: this.options.idleTimeoutMs,
      logLevel: this.options.logLevel,
    };
    const child = fork(workerScript, [JSON.stringify(settings)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    const worker: WorkerProcess = {
      child,
      open: 0,
      bytes: { upstream: 0, downstream: 0 },
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    this.#workers.push(worker);
    void worker.exited.then(() => {
      // Connections of a worker that died are gone: forget them, and say so unless we are draining.
      for (const [id, remote] of this.#open) if (remote.worker === worker) this.#open.delete(id);
      if (!this.#draining)
        this.options.log.error({ worker: index, exitCode: child.exitCode }, 'worker exited');
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.on('message', (message: FromWorker) => {
        if (message.type === 'ready') resolve();
        else this.#onMessage(worker, message);
      });
      void worker.exited.then(() => reject(new Error(`worker ${index} exited during start-up`)));
    });
  }

  #onMessage(worker: WorkerProcess, message: FromWorker): void {
    if (message.type === 'bytes') {
      worker.bytes = { upstream: message.upstream, downstream: message.downstream };
      return;
    }
    if (message.type === 'ready') return;
    const remote = this.#open.get(message.id);
    if (!remote) return;
    switch (message.type) {
      case 'brokered':
        remote.backendKey = message.key;
        this.options.events.brokered(remote.listener, message.key, message.id);
        break;
      case 'refused':
        this.options.events.refused(message.reason, message.id);
        break;
      case 'failed':
        remote.route.markFailed(message.key, message.detail);
        break;
      case 'closed':
        this.#open.delete(message.id);
        worker.open--;
        break;
    }
  }

  #dispatch(client: Socket, listener: ListenerName, route: Route): void {
    if (this.#draining) {
      client.destroy();
      return;
    }
    const { maxConnections, log } = this.options;
    if (maxConnections > 0 && this.#open.size >= maxConnections) {
      this.options.events.refused('max_connections', 0);
      refuse(client, 'max_connections', `--max-connections ${maxConnections} reached`, log);
      return;
    }
    const candidates = route.candidates();
    if (candidates.length === 0) {
      this.options.events.refused('no_backend', 0);
      refuse(client, 'no_backend', route.describe(), log);
      return;
    }
    const worker = this.#workers.reduce((least, w) => (w.open < least.open ? w : least));
    const id = this.#nextId++;
    this.#open.set(id, { listener, route, worker });
    worker.open++;
    const message: ToWorker = {
      type: 'connection',
      id,
      listener,
      candidates: candidates.map((b) => ({ key: b.key, host: b.address.host, port: b.address.port })),
    };
    worker.child.send(message, client, (err) => {
      if (!err) return;
      log.warn({ err: err.message }, 'could not hand a connection to a worker');
      this.#open.delete(id);
      worker.open--;
      client.destroy();
    });
  }

  #broadcast(message: ToWorker): void {
    for (const worker of this.#workers) if (worker.child.connected) worker.child.send(message);
  }
}
