/**
 * Readiness follows an upstream: its readiness condition is false until the upstream accepts a TCP
 * connection, and again as soon as it refuses one (a refused proxy request triggers an immediate
 * re-check rather than waiting for the next tick). A connect is all it takes: the proxy does not know
 * the app's health URL. Each upstream a component needs gets its own probe and condition.
 */

import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { Health } from '../health.js';

export interface UpstreamProbe {
  /** Check now (called when traffic saw the upstream refuse a connection). */
  recheck(): void;
  close(): void;
}

export interface UpstreamProbeOptions {
  /** The readiness condition it sets (`upstream`; `upstream:<name>` beside others). */
  condition: string;
  intervalMs?: number;
  timeoutMs?: number;
}

export function probeUpstream(
  upstream: { host: string; port: number },
  health: Health,
  log: Logger,
  { condition, intervalMs = 2000, timeoutMs = 1000 }: UpstreamProbeOptions,
): UpstreamProbe {
  const target = `${upstream.host.includes(':') ? `[${upstream.host}]` : upstream.host}:${upstream.port}`;
  let up: boolean | undefined;
  let checking = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  health.readiness.set(condition, false, `waiting for ${target} to accept connections`);

  const record = (ok: boolean, detail: string) => {
    if (ok !== up) {
      if (ok) log.info({ upstream: target }, 'upstream accepts connections');
      else if (up !== undefined)
        log.warn({ upstream: target, reason: detail }, 'upstream stopped accepting connections');
    }
    up = ok;
    health.readiness.set(condition, ok, ok ? target : `${target}: ${detail}`);
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
