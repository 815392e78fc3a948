/**
 * `--workers 2` with a worker killed under HTTPS load: the worker is replaced, requests on new
 * connections all succeed, and the only requests that fail are ones on connections the dead worker
 * held (at most one per such connection).
 */

import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';
import t from 'tap';
import { children, serverSideInode, socketInodes } from '../../../test/support/proc-fds.js';
import { waitFor } from '../../../test/support/wait.js';
import { makePki, metrics, metricValue, type ProxyProcess, startProxy, startUpstream } from './helpers.js';

const pki = await makePki();
const upstream = await startUpstream(t);
const ca = readFileSync(pki.caFile);

interface Outcome {
  startedAt: number;
  ok: boolean;
  /** The client socket's local port: which connection carried the request. */
  port: number | undefined;
  detail: string;
}

function get(url: string, agent: Agent): Promise<Outcome> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    let port: number | undefined;
    const req = request(url, { agent, ca, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ startedAt, ok: res.statusCode === 200, port, detail: `status ${res.statusCode}` }),
      );
      res.on('error', (err) => resolve({ startedAt, ok: false, port, detail: err.message }));
    });
    req.on('socket', (socket: Socket) => {
      if (socket.localPort) port = socket.localPort;
      else socket.once('connect', () => (port = socket.localPort));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ startedAt, ok: false, port, detail: err.message }));
    req.end();
  });
}

/** Local ports of every socket the agent holds, busy or idle. */
function agentPorts(agent: Agent): number[] {
  return [...Object.values(agent.sockets), ...Object.values(agent.freeSockets)]
    .flat()
    .map((socket) => (socket as Socket | undefined)?.localPort)
    .filter((port): port is number => typeof port === 'number');
}

async function readyDetail(proxy: ProxyProcess): Promise<unknown> {
  const body = (await (await fetch(`${proxy.adminUrl}/readyz`)).json()) as {
    checks: { workers?: { detail?: unknown } };
  };
  return body.checks.workers?.detail;
}

t.test(
  '--workers 2: a worker killed under load is replaced; only its connections lose requests',
  async (t) => {
    const proxy = await startProxy(t, pki, upstream.url, ['--workers', '2']);
    await waitFor(() => children(proxy.pid).length === 2, { what: 'two workers' });
    const [victim, survivor] = children(proxy.pid) as [number, number];

    // Kept-alive clients, as a Service's traffic looks.
    const agent = new Agent({ keepAlive: true, maxSockets: 8, ca });
    t.teardown(() => agent.destroy());
    const outcomes: Outcome[] = [];
    let stop = false;
    const loop = async () => {
      while (!stop) outcomes.push(await get(`${proxy.url}/echo`, agent));
    };
    const running = Array.from({ length: 8 }, loop);
    const okCount = () => outcomes.filter((o) => o.ok).length;
    await waitFor(() => okCount() >= 200, { timeoutMs: 30_000, what: 'load running' });
    const servedBefore = metricValue(
      await metrics(proxy),
      'podkit_tls_proxy_requests_total{status_class="2xx"}',
    );

    const victimSockets = socketInodes(victim);
    const victimPorts = new Set(
      agentPorts(agent).filter((port) => {
        const inode = serverSideInode(proxy.port, port);
        return inode !== undefined && victimSockets.has(inode);
      }),
    );
    t.ok(victimPorts.size > 0, `${victimPorts.size} kept-alive connection(s) on the victim`);
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');

    // Requests on new connections while the worker is being replaced.
    const fresh = new Agent({ keepAlive: false, ca });
    const freshOutcomes: Outcome[] = [];
    for (let i = 0; i < 20; i++) freshOutcomes.push(await get(`${proxy.url}/echo`, fresh));
    t.same(
      freshOutcomes.filter((o) => !o.ok).map((o) => o.detail),
      [],
      '20 requests on new connections right after the kill all succeed',
    );

    const exit = await proxy.waitForLog(
      (l) => l.msg === 'worker exited unexpectedly; starting a replacement' && l.pid === victim,
    );
    t.match(exit, { code: 'PODKIT_ERR_WORKER', signal: 'SIGKILL' }, 'the primary logs the dead worker');
    await waitFor(
      () => {
        const now = children(proxy.pid);
        return now.length === 2 && now.includes(survivor) && !now.includes(victim);
      },
      { timeoutMs: 20_000, what: 'a replacement worker' },
    );
    await waitFor(async () => (await readyDetail(proxy)) === '2 of 2 serving', { what: 'readiness 2 of 2' });
    t.pass(`replaced (pid ${children(proxy.pid).find((pid) => pid !== survivor)}); readiness 2 of 2 serving`);
    const okAtReplacement = okCount();
    await waitFor(() => okCount() >= okAtReplacement + 200, { timeoutMs: 30_000, what: 'load after' });
    stop = true;
    await Promise.all(running);

    const failed = outcomes.filter((o) => !o.ok);
    t.ok(
      failed.length <= victimPorts.size,
      `${failed.length} request(s) failed, at most one per connection the dead worker held (${victimPorts.size})`,
    );
    t.same(
      failed.filter((o) => o.port === undefined || !victimPorts.has(o.port)).map((o) => o.detail),
      [],
      "every failed request was on one of the dead worker's connections",
    );
    t.ok(outcomes.filter((o) => o.startedAt > killedAt && o.ok).length >= 200, 'load went on after the kill');
    t.ok(
      metricValue(await metrics(proxy), 'podkit_tls_proxy_requests_total{status_class="2xx"}') >=
        servedBefore,
      'the summed request counter did not go back when the worker died',
    );
  },
);
