/**
 * The legacy application the podkit patterns wrap. Deliberately old-fashioned: listens only on
 * 127.0.0.1, reads a key = value config file at start and on SIGHUP, writes plain-text logs into
 * per-level files, reports its own JSON stats at /stats, and optionally stores notes in MySQL at an
 * address from its config. It knows nothing of TLS, Kubernetes, Prometheus or JSON logs.
 */

import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type LegacyConfig, readConfig } from './config.js';
import { LogFiles } from './logfiles.js';
import { Stats, type StatsSnapshot } from './stats.js';
import { openStorage, type Storage, sameStorage } from './storage.js';

const version = '1.4.2';
const maxBody = 64 * 1024;

export class LegacyApp {
  config: LegacyConfig;
  readonly logs: LogFiles;
  readonly stats = new Stats();
  #storage: Storage;
  #server: Server | undefined;
  #configError: string | undefined;
  #generation = 1;
  #reloads = 0;
  #failedReloads = 0;
  #lastReload: Date | undefined;
  #thread = 0;

  constructor(readonly configPath: string) {
    this.config = readConfig(configPath);
    this.logs = new LogFiles(this.config.logDir);
    this.#storage = openStorage(this.config);
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.on('connection', (socket) => {
      this.stats.openConnections++;
      this.stats.totalConnections++;
      socket.once('close', () => this.stats.openConnections--);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    if (this.config.pidFile) writeFileSync(this.config.pidFile, `${process.pid}\n`);
    const address = `127.0.0.1:${this.config.port}`;
    this.logs.info('main', `legacy-app ${version} listening on ${address} (storage=${this.#storage.kind})`);
    return address;
  }

  /** SIGHUP: re-read the config. A bad file keeps the running config and makes /health report it. */
  async reload(): Promise<void> {
    let next: LegacyConfig;
    try {
      next = readConfig(this.configPath);
    } catch (err) {
      this.#failedReloads++;
      this.#configError = (err as Error).message;
      this.logs.error('reload', `config rejected, keeping generation ${this.#generation}`, err as Error);
      return;
    }
    if (next.port !== this.config.port) {
      this.logs.warn(
        'reload',
        `port change ${this.config.port} -> ${next.port} needs a restart; still on ${this.config.port}`,
      );
      next.port = this.config.port;
    }
    if (next.logDir !== this.config.logDir) this.logs.moveTo(next.logDir);
    if (!sameStorage(this.config, next)) {
      const old = this.#storage;
      this.#storage = openStorage(next);
      void old.close().catch(() => {});
    }
    this.config = next;
    this.#configError = undefined;
    this.#generation++;
    this.#reloads++;
    this.#lastReload = new Date();
    this.logs.info('reload', `config reloaded: generation ${this.#generation}, greeting "${next.greeting}"`);
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    }
    await this.#storage.close().catch(() => {});
    this.logs.info('main', 'stopped');
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const thread = `http-${(this.#thread++ % 8) + 1}`;
    const url = new URL(req.url ?? '/', 'http://legacy');
    let status = 500;
    try {
      status = await this.#route(req, res, url, thread);
    } catch (err) {
      this.logs.error(thread, `${req.method} ${url.pathname} failed`, err as Error);
      if (!res.headersSent) send(res, 503, { error: (err as Error).message });
      status = 503;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.stats.record(url.pathname, status, ms, thread);
    this.logs.info(thread, `${req.method} ${url.pathname} ${status} ${ms.toFixed(1)}ms`);
  }

  async #route(req: IncomingMessage, res: ServerResponse, url: URL, thread: string): Promise<number> {
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /':
        return send(res, 200, `${this.config.greeting}\n`);
      case 'GET /health':
        return this.#health(res);
      case 'GET /stats':
        return send(res, 200, await this.snapshot());
      case 'GET /notes':
        return send(res, 200, await this.#storage.list());
      case 'POST /notes': {
        const body = await readBody(req);
        if (body === undefined) return send(res, 413, { error: `note larger than ${maxBody} bytes` });
        if (body.trim() === '') return send(res, 400, { error: 'empty note' });
        return send(res, 201, await this.#storage.add(body));
      }
      case 'GET /fail': {
        const err = new Error('simulated failure requested at /fail');
        this.logs.error(thread, 'unhandled exception in request handler', err);
        return send(res, 500, { error: 'internal error' });
      }
      case 'GET /slow': {
        const ms = Math.min(Number(url.searchParams.get('ms') ?? 1000) || 0, 60_000);
        await new Promise((resolve) => setTimeout(resolve, ms));
        return send(res, 200, `slept ${ms}ms\n`);
      }
      default:
        return send(res, 404, { error: `no route ${route}` });
    }
  }

  async #health(res: ServerResponse): Promise<number> {
    if (this.#configError) return send(res, 503, { status: 'config-error', error: this.#configError });
    try {
      await this.#storage.count();
    } catch (err) {
      return send(res, 503, { status: 'storage-down', error: (err as Error).message });
    }
    return send(res, 200, { status: 'ok', generation: this.#generation });
  }

  async snapshot(): Promise<StatsSnapshot> {
    const s = this.stats;
    let notes = 0;
    let healthy = true;
    try {
      notes = await this.#storage.count();
    } catch {
      healthy = false;
    }
    return {
      app: 'legacy-app',
      version,
      status: this.#configError || !healthy ? 'degraded' : 'ok',
      uptime_seconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000),
      started_at: s.startedAt.toISOString(),
      requests: {
        total: s.total,
        errors: s.errors,
        by_status: Object.fromEntries(s.byStatus),
        by_path: Object.fromEntries(s.byPath),
      },
      latency_ms: {
        avg: s.total ? Number((s.latencySum / s.total).toFixed(3)) : 0,
        max: Number(s.latencyMax.toFixed(3)),
      },
      connections: { open: s.openConnections, total: s.totalConnections },
      config: {
        generation: this.#generation,
        reloads: this.#reloads,
        failed_reloads: this.#failedReloads,
        last_reload: this.#lastReload?.toISOString() ?? null,
      },
      storage: { kind: this.#storage.kind, notes, healthy },
      threads: [...s.byThread]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, requests]) => ({ name, requests })),
    };
  }
}

function send(res: ServerResponse, status: number, body: unknown): number {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
  return status;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBody) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
