/**
 * Readiness follows the upstream: /readyz is 503 until the upstream accepts a TCP connection, and again
 * as soon as it refuses one (a refused proxy request triggers an immediate re-check rather than waiting
 * for the next tick). A connect is all it takes: the proxy does not know the app's health URL.
 */

import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { Health } from '../../../lib/health.js';
import type { Endpoint } from './config.js';

export interface UpstreamProbe {
  /** Check now (called when traffic saw the upstream refuse a connection). */
  recheck(): void;
  close(): void;
}

export function probeUpstream(
  upstream: Endpoint,
  health: Health,
  log: Logger,
  { intervalMs = 2000, timeoutMs = 1000 }: { intervalMs?: number; timeoutMs?: number } = {},
): UpstreamProbe {
  const target = `${upstream.host.includes(':') ? `[${upstream.host}]` : upstream.host}:${upstream.port}`;
  let up: boolean | undefined;
  let checking = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  health.readiness.set('upstream', false, `waiting for ${target} to accept connections`);

  const record = (ok: boolean, detail: string) => {
    if (ok !== up) {
      if (ok) log.info({ upstream: target }, 'upstream accepts connections');
      else if (up !== undefined)
        log.warn({ upstream: target, reason: detail }, 'upstream stopped accepting connections');
    }
    up = ok;
    health.readiness.set('upstream', ok, ok ? target : `${target}: ${detail}`);
  };

  const check = () => {
    if (checking || closed) return;
    checking = true;
    clearTimeout(timer);
    const socket = connect({ host: upstream.host, port: upstream.port });
    const done = (ok: boolean, detail: string) => {
      socket.destroy();
      if (!checking) return;
      checking = false;
      if (closed) return;
      record(ok, detail);
      // Faster while down, so the pod turns ready promptly once the app is up.
      timer = setTimeout(check, ok ? intervalMs : Math.min(intervalMs, 250));
      timer.unref();
    };
    socket.setTimeout(timeoutMs, () => done(false, `no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(true, 'accepting'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
  };
  check();

  return {
    recheck() {
      if (up) {
        record(false, 'refused a proxied connection');
        check();
      }
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
