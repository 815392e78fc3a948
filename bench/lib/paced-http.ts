/**
 * Open-loop HTTP load at a fixed rate, the way probes arrive: the kubelet sends a probe every period
 * whether or not the last one was answered, over a new connection each time (its probes do not keep
 * connections alive). wrk measures the opposite (as fast as the server allows, on kept-alive
 * connections), so probe latency at a set rate is measured here. Returns wrk's LoadResult shape, so
 * side-by-side comparisons take either.
 */

import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './side-by-side.js';
import type { LoadResult } from './wrk.js';

export interface PacedOptions {
  url: string;
  ratePerSecond: number;
  durationSeconds: number;
  /** A request unanswered after this counts as an error, with this latency. */
  timeoutMs?: number;
  /** Statuses that are answers, not errors (a probe's 503 is an answer). Default: 200. */
  okStatuses?: number[];
  /** Send over kept-alive connections (as an app calling a service does) instead of a new one each time. */
  keepAlive?: boolean;
}

function once(url: string, timeoutMs: number, agent: Agent | false): Promise<{ status: number; ms: number }> {
  const sent = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - sent }));
      res.once('error', () => resolve({ status: 0, ms: performance.now() - sent }));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => resolve({ status: 0, ms: performance.now() - sent }));
    req.end();
  });
}

export async function pacedLoad(options: PacedOptions): Promise<LoadResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const ok = new Set(options.okStatuses ?? [200]);
  const count = Math.round(options.ratePerSecond * options.durationSeconds);
  const gapMs = 1000 / options.ratePerSecond;
  const started = performance.now();
  const answers: Promise<{ status: number; ms: number }>[] = [];
  const agent = options.keepAlive ? new Agent({ keepAlive: true }) : false;
  for (let i = 0; i < count; i++) {
    const due = started + i * gapMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    answers.push(once(options.url, timeoutMs, agent));
  }
  const results = await Promise.all(answers);
  if (agent) agent.destroy();
  const elapsedSeconds = (performance.now() - started) / 1000;
  const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    requestsPerSecond: results.filter((r) => r.status !== 0).length / elapsedSeconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors: results.filter((r) => !ok.has(r.status)).length,
  };
}
