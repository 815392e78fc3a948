/**
 * Everything that serves traffic in one process: the listening socket, the TLS server, the l7 or l4
 * proxy behind it, and the optional redirect listener. The same code runs in the only process
 * (--workers 1) or in each worker, so both setups behave alike.
 */

import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { clientAddressOf } from '../../../lib/http-proxy/headers.js';
import { listen } from '../../../lib/http-server.js';
import { hostPort } from '../../../lib/option-types.js';
import { connectionAddresses } from './accept-proxy.js';
import type { Endpoint, ProxyConfig } from './config.js';
import { createL4Server } from './l4-server.js';
import { createL7Server } from './l7-server.js';
import { createListener } from './listener.js';
import type { DataPlaneMetrics } from './metrics.js';
import { statusClass } from './metrics.js';
import { createRedirectServer } from './redirect.js';
import type { TlsMaterial } from './tls-material.js';
import { createTlsServer, type TlsState } from './tls-server.js';

export interface DataPlaneOptions {
  config: ProxyConfig;
  material: TlsMaterial;
  ticketKeys: Buffer;
  metrics: DataPlaneMetrics;
  log: Logger;
  onUpstreamRefused(): void;
}

export interface BoundAddresses {
  tls: string;
  redirect: string | undefined;
}

export interface DataPlane {
  listen(): Promise<BoundAddresses>;
  setTls(state: TlsState): void;
  /** Stop accepting, finish what is in flight, close tunnels still open after `tunnelGraceMs`. */
  close(tunnelGraceMs: number): Promise<void>;
}

export function createDataPlane(options: DataPlaneOptions): DataPlane {
  const { config, metrics, log } = options;
  const proxyOptions = { config, metrics, log, onUpstreamRefused: options.onUpstreamRefused };
  const proxy = config.mode === 'l7' ? createL7Server(proxyOptions) : createL4Server(proxyOptions);
  const tls = createTlsServer({
    config,
    material: options.material,
    ticketKeys: options.ticketKeys,
    alpn: config.mode === 'l7' ? ['h2', 'http/1.1'] : undefined,
    onSecureConnection(socket, state) {
      if (state.refusal) {
        metrics.handshakeFailures.inc({ reason: state.refusal.reason });
        log.debug({ client: state.clientAddress, reason: state.refusal.reason }, state.refusal.message);
      }
      proxy.onSecureConnection(socket, state);
    },
    onHandshakeFailure(reason, socket, err) {
      metrics.handshakeFailures.inc({ reason });
      const client = clientAddressOf(connectionAddresses(socket).sourceAddress);
      log.debug({ client, reason, err: err.message }, 'TLS handshake failed');
    },
  });
  const listener = createListener({
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    firstByteTimeoutMs: config.handshakeTimeoutMs,
    acceptProxyProtocol: config.acceptProxyProtocol,
    onTls: (socket) => tls.server.emit('connection', socket),
    onPlainHttp: () => {
      metrics.handshakeFailures.inc({ reason: 'plain_http' });
      metrics.requestsByClass['4xx'].inc();
    },
    onBadProxyHeader: (socket, message) => {
      metrics.handshakeFailures.inc({ reason: 'proxy_header' });
      log.debug({ client: clientAddressOf(socket.remoteAddress), reason: 'proxy_header' }, message);
    },
    onFirstByteTimeout: () => metrics.handshakeFailures.inc({ reason: 'timeout' }),
    onOpen: () => metrics.activeConnections.inc(),
    onClose: () => metrics.activeConnections.dec(),
    onDrop: (limit) => {
      metrics.limitRejections.inc({ limit });
      if (limit === 'connections') metrics.droppedConnections.inc();
    },
  });
  const redirect = config.redirectListen
    ? createRedirectServer(config.redirectHttpsPort, (status) =>
        metrics.requestsByClass[statusClass(status)].inc(),
      )
    : undefined;

  return {
    async listen() {
      const bound = await listen(listener, toHostPort(config.listen), 'tls-proxy');
      const redirectBound =
        redirect && config.redirectListen
          ? await listen(redirect, toHostPort(config.redirectListen), 'tls-proxy redirect')
          : undefined;
      return { tls: bound, redirect: redirectBound };
    },
    setTls(state) {
      tls.setTls(state);
    },
    async close(tunnelGraceMs) {
      listener.close();
      if (redirect) {
        redirect.close();
        redirect.closeIdleConnections();
      }
      await proxy.drain(tunnelGraceMs);
      await closed(listener, 1000);
    },
  };
}

function toHostPort(endpoint: Endpoint) {
  return hostPort(endpoint.host, endpoint.port);
}

/** Waits (briefly) for the listener to report that its last connection is gone. */
function closed(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    server.getConnections((_err, count) => {
      if (!count) return resolve();
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      server.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  });
}
