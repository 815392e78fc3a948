/**
 * l4: each TLS connection becomes a TCP connection to the upstream, bytes forwarded both ways with
 * backpressure (lib/socket-forward.ts), optionally preceded by a PROXY v2 header. No
 * HTTP is parsed, which makes this the fastest path and the right one for non-HTTP protocols.
 */

import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { ErrorCode } from '../../../lib/errors.js';
import { upstreamErrorReason } from '../../../lib/http-proxy/upstream-error.js';
import { forwardBothWays } from '../../../lib/socket-forward.js';
import { connectionAddresses } from './accept-proxy.js';
import type { ProxyConfig } from './config.js';
import type { DataPlaneMetrics } from './metrics.js';
import { proxyV2Header } from './proxy-protocol.js';
import type { ConnectionState, StatefulSocket } from './tls-server.js';

export interface L4Options {
  config: ProxyConfig;
  metrics: DataPlaneMetrics;
  log: Logger;
  onUpstreamRefused(): void;
}

export interface L4Server {
  onSecureConnection(socket: StatefulSocket, state: ConnectionState): void;
  /** Tunnels may finish on their own for `tunnelGraceMs`; those still open then are closed. */
  drain(tunnelGraceMs: number): Promise<void>;
}

export function createL4Server({ config, metrics, log, onUpstreamRefused }: L4Options): L4Server {
  const tunnels = new Set<Socket>();
  let onEmpty: (() => void) | undefined;

  return {
    onSecureConnection(client, state) {
      if (state.refusal) {
        // No protocol to answer in: the connection is closed (the reason is in the metric).
        client.destroy();
        return;
      }
      const upstream = connect({ host: config.upstream.host, port: config.upstream.port, noDelay: true });
      tunnels.add(client);
      let connected = false;
      const finish = () => {
        if (!tunnels.delete(client)) return;
        metrics.tunnelBytes.inc({ direction: 'client_to_upstream' }, upstream.bytesWritten);
        metrics.tunnelBytes.inc({ direction: 'upstream_to_client' }, upstream.bytesRead);
        client.destroy();
        upstream.destroy();
        if (tunnels.size === 0) onEmpty?.();
      };
      upstream.setTimeout(config.upstreamTimeoutMs, () => {
        if (connected) return;
        metrics.upstreamErrors.timeout.inc();
        finish();
      });
      upstream.once('connect', () => {
        connected = true;
        upstream.setTimeout(config.idleTimeoutMs);
      });
      upstream.on('timeout', () => {
        if (connected) finish();
      });
      upstream.on('error', (err: Error & { code?: string }) => {
        const reason = upstreamErrorReason(err);
        metrics.upstreamErrors[reason].inc();
        if (err.code === 'ECONNREFUSED') onUpstreamRefused();
        log.debug({ code: ErrorCode.UPSTREAM, reason, err: err.message }, 'tunnel to the upstream failed');
        finish();
      });
      client.on('error', finish);
      client.once('close', finish);
      upstream.once('close', finish);
      if (config.proxyProtocol) {
        upstream.write(proxyV2Header(connectionAddresses(client)));
      }
      forwardBothWays(client, upstream);
    },

    async drain(tunnelGraceMs) {
      if (tunnels.size > 0) {
        await new Promise<void>((resolve) => {
          onEmpty = resolve;
          setTimeout(resolve, tunnelGraceMs).unref();
        });
      }
      for (const client of tunnels) client.destroy();
    },
  };
}
