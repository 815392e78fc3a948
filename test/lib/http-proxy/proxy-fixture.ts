/**
 * What the proxy core's tests share: real HTTP servers on loopback (upstreams and the client-facing
 * side), the core wired between them the way a component wires it, and real prom-client metrics read
 * back by name.
 */

import { createServer, type IncomingMessage, type RequestListener, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Counter, Histogram, Registry } from 'prom-client';
import { HttpConnections } from '../../../lib/http-drain.js';
import { teeBody } from '../../../lib/http-proxy/body-tee.js';
import { asClientResponse, type ExchangeObserver, ProxyExchange } from '../../../lib/http-proxy/exchange.js';
import { upstreamRequestHead } from '../../../lib/http-proxy/headers.js';
import { bindUpstreamMetrics } from '../../../lib/http-proxy/metrics.js';
import { type Upstream, type UpstreamSpec, Upstreams } from '../../../lib/http-proxy/upstreams.js';
import { createLogger } from '../../../lib/log.js';
import type { Teardown } from '../../support/process.js';

/** Listens on a free loopback port; closed (every connection too) at teardown. */
export async function listenOn(t: Teardown, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

export async function startUpstream(t: Teardown, handler: RequestListener) {
  const server = createServer(handler);
  const port = await listenOn(t, server);
  return { server, port, origin: `http://127.0.0.1:${port}` };
}

/** A request whose response is handed over unread, so the test decides when (and whether) to read. */
export function openResponse(url: string, options: { method?: string } = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET' }, resolve);
    req.on('error', reject);
    req.end();
  });
}

export function readAll(res: IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    res.on('end', () => resolve(bytes));
    res.on('error', reject);
    // A response paused by the test does not flow again by itself when read.
    res.resume();
  });
}

/** The component side of the metrics: counters made once, read back by series. */
export function testMetrics() {
  const registry = new Registry();
  const registers = [registry];
  const handles = {
    requests: new Counter({
      name: 'test_requests_total',
      help: 'answers',
      labelNames: ['upstream', 'status_class'],
      registers,
    }),
    upstreamErrors: new Counter({
      name: 'test_upstream_errors_total',
      help: 'failures',
      labelNames: ['upstream', 'reason'],
      registers,
    }),
    duration: new Histogram({
      name: 'test_duration_seconds',
      help: 'durations',
      labelNames: ['upstream'],
      registers,
    }),
  };
  return {
    registry,
    bind: (upstream: string) => bindUpstreamMetrics(handles, { upstream }),
    /** A series' value (`_count`, `_sum` and `_bucket` series of histograms too); NaN when absent. */
    async value(name: string, labels: Record<string, string>): Promise<number> {
      for (const metric of await registry.getMetricsAsJSON()) {
        for (const sample of metric.values as {
          metricName?: string;
          labels: Record<string, unknown>;
          value: number;
        }[]) {
          if ((sample.metricName ?? metric.name) !== name) continue;
          if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
            return sample.value;
        }
      }
      return Number.NaN;
    },
  };
}

/** Log lines the core wrote, parsed. */
export function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { log: createLogger('test', 'debug', destination), lines };
}

export interface ProxyOptions {
  /** Upstreams by name; a request goes to the one its `x-test-upstream` header names, else the first. */
  upstreams: Omit<UpstreamSpec, 'metrics' | 'onRefused'>[];
  /** Response headers added per upstream (a variant's name, say). */
  responseHeaders?: (upstream: Upstream) => string[];
  observer?: (req: IncomingMessage) => ExchangeObserver | undefined;
  /** Tees request bodies: the copy, once settled, is handed here. */
  tee?: { maxBytes: number; copied(copy: Awaited<ReturnType<typeof teeBody>['copy']>): void };
}

/** A plain HTTP proxy built from the core, as a component builds one. */
export async function startProxy(t: Teardown, options: ProxyOptions) {
  const metrics = testMetrics();
  const { log, lines } = capturedLog();
  const refused: string[] = [];
  const loadFailures: string[] = [];
  const upstreams = new Upstreams({ onLoadFailed: (name) => loadFailures.push(name) });
  for (const spec of options.upstreams) {
    upstreams.add({ ...spec, metrics: metrics.bind(spec.name), onRefused: () => refused.push(spec.name) });
  }
  const connections = new HttpConnections();
  const context = { connections, log };
  const server = createServer((req, res) => {
    connections.requestStarted(req.socket, res);
    const name = String(req.headers['x-test-upstream'] ?? options.upstreams[0]?.name);
    const upstream = upstreams.get(name);
    if (!upstream) throw new Error(`no upstream ${name}`);
    const head = upstreamRequestHead(req.rawHeaders, {
      clientAddress: req.socket.remoteAddress ?? 'unknown',
      proto: 'http',
      clientCert: undefined,
    });
    let body: IncomingMessage | ReturnType<typeof teeBody>['body'] | null = head.declaresBody ? req : null;
    if (body && options.tee) {
      const tee = teeBody(body, options.tee.maxBytes);
      body = tee.body;
      void tee.copy.then(options.tee.copied);
    }
    new ProxyExchange(
      context,
      upstream,
      req,
      asClientResponse(res),
      { path: req.url ?? '/', method: req.method ?? 'GET', headers: head.headers, body },
      options.responseHeaders?.(upstream) ?? [],
      performance.now(),
      options.observer?.(req),
    ).start();
  });
  connections.followHttp1(server);
  const port = await listenOn(t, server);
  t.teardown(() => upstreams.close());
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    metrics,
    lines,
    refused,
    loadFailures,
    connections,
    upstreams,
  };
}
