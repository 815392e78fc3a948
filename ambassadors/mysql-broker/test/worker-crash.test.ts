/**
 * `--workers 2` with a worker killed under load, in front of a real MariaDB: the worker is replaced,
 * every connection attempted after the kill is served or answered with a MySQL ERR packet (never a
 * connection lost during the handshake), sessions the dead worker was proxying die with it and no
 * others, the counters stay right, and the primary's copies of handed-over sockets are not leaked. With
 * both workers dead, clients get an ERR packet until the replacements serve.
 */

import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from 'mysql2/promise';
import t from 'tap';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { children, openFdCount, serverSideInode, socketInodes } from '../../../test/support/proc-fds.js';
import { waitFor } from '../../../test/support/wait.js';
import { type Broker, backendArg, connectVia, metric, primaryIs, startBroker } from './helpers.js';

interface Attempt {
  startedAt: number;
  outcome: 'ok' | 'err-packet' | 'lost';
  detail: string;
}

/** A MySQL ERR packet from the server side (a server error code), as opposed to a dropped connection. */
function isErrPacket(err: { errno?: number; sqlState?: string }): boolean {
  return typeof err.errno === 'number' && err.errno >= 1000 && err.errno < 2000;
}

function describe(err: { code?: string; errno?: number; message?: string }): string {
  return `${err.code ?? '?'} ${err.errno ?? ''} ${err.message ?? ''}`;
}

function clientPort(conn: Connection): number {
  return ((conn as unknown as { connection: { stream: Socket } }).connection.stream.localPort ?? 0) as number;
}

/** The least fd count of `pid` over a few samples: health checks open short-lived sockets. */
async function settledFdCount(pid: number): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    least = Math.min(least, openFdCount(pid));
    await sleep(50);
  }
  return least;
}

async function readyDetail(broker: Broker): Promise<unknown> {
  const body = await (await fetch(`${broker.adminUrl}/readyz`)).json();
  return (body as { checks: { workers?: { detail?: unknown } } }).checks.workers?.detail;
}

t.test(
  '--workers 2: a worker killed under load is replaced, and no client sees a silent close',
  async (t) => {
    const db = await startMariaDb(t);
    const broker = await startBroker(t, [
      '--backends',
      backendArg(db),
      '--workers',
      '2',
      '--health-interval',
      '500ms',
    ]);
    await primaryIs(broker, db);
    const workers = children(broker.pid);
    t.equal(workers.length, 2, 'two workers');
    t.equal(await readyDetail(broker), '2 of 2 serving');
    const [victim, survivor] = workers as [number, number];
    const primaryFds = await settledFdCount(broker.pid);

    // Sessions open across the kill; the primary hands them to the least busy worker, so both get some.
    const held = await Promise.all(Array.from({ length: 6 }, () => connectVia(broker, db)));
    for (const conn of held) await conn.query('SELECT 1');
    const victimSockets = socketInodes(victim);
    const onVictim = held.filter((conn) => {
      const inode = serverSideInode(broker.port, clientPort(conn));
      return inode !== undefined && victimSockets.has(inode);
    });
    t.ok(onVictim.length > 0 && onVictim.length < held.length, `${onVictim.length} of 6 on the victim`);
    const ended = new Set<Connection>();
    for (const conn of held) conn.once('end', () => ended.add(conn));

    // Client loops: connect, query, close, as fast as the broker serves them.
    const attempts: Attempt[] = [];
    let stop = false;
    const loops = 6;
    const loop = async () => {
      while (!stop) {
        const startedAt = Date.now();
        let conn: Connection;
        try {
          conn = await connectVia(broker, db);
        } catch (err) {
          const e = err as { code?: string; errno?: number; sqlState?: string; message?: string };
          attempts.push({ startedAt, outcome: isErrPacket(e) ? 'err-packet' : 'lost', detail: describe(e) });
          continue;
        }
        try {
          const [rows] = await conn.query('SELECT 42 AS answer');
          const ok = (rows as { answer: number }[])[0]?.answer === 42;
          attempts.push({ startedAt, outcome: ok ? 'ok' : 'lost', detail: JSON.stringify(rows) });
        } catch (err) {
          attempts.push({ startedAt, outcome: 'lost', detail: describe(err as Error) });
        } finally {
          await conn.end().catch(() => {});
        }
      }
    };
    const running = Array.from({ length: loops }, loop);
    const okCount = () => attempts.filter((a) => a.outcome === 'ok').length;
    await waitFor(() => okCount() >= 60, { timeoutMs: 30_000, what: 'load running' });
    const downstreamBefore = (await metric(broker.adminUrl, 'podkit_mysql_broker_bytes_total', {
      direction: 'downstream',
    })) as number;

    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const exitLine = await broker.waitForLog(
      (l) => l.msg === 'worker exited unexpectedly; starting a replacement' && l.pid === victim,
    );
    t.match(exitLine, { code: 'PODKIT_ERR_WORKER', signal: 'SIGKILL' }, 'the primary logs the dead worker');
    await waitFor(
      async () => {
        const now = children(broker.pid);
        return now.length === 2 && now.includes(survivor) && !now.includes(victim);
      },
      { timeoutMs: 20_000, what: 'a replacement worker' },
    );
    const replacement = children(broker.pid).find((pid) => pid !== survivor);
    await waitFor(async () => (await readyDetail(broker)) === '2 of 2 serving', { what: 'readiness 2 of 2' });
    t.pass(`replaced by a new worker (pid ${replacement}); readiness says 2 of 2 serving`);
    const okAtReplacement = okCount();
    await waitFor(() => okCount() >= okAtReplacement + 60, { timeoutMs: 30_000, what: 'load after' });
    stop = true;
    await Promise.all(running);

    const after = attempts.filter((a) => a.startedAt > killedAt);
    t.ok(after.length >= 60, `${after.length} connection attempts after the kill`);
    t.same(
      after.filter((a) => a.outcome === 'lost').map((a) => a.detail),
      [],
      'every attempt after the kill was served or got an ERR packet, none was dropped',
    );
    const refused = attempts.filter((a) => a.outcome === 'err-packet');
    t.same(
      refused
        .filter((a) => !/^ER_SERVER_SHUTDOWN 1053 .*no broker worker/.test(a.detail))
        .map((a) => a.detail),
      [],
      `the ${refused.length} ERR packet(s) say that no broker worker could carry the connection`,
    );
    const lostBefore = attempts.filter((a) => a.startedAt <= killedAt && a.outcome === 'lost');
    t.ok(
      lostBefore.length <= loops,
      `${lostBefore.length} loop connection(s) open at the kill died with it (at most one per loop)`,
    );

    t.same(
      held.filter((conn) => ended.has(conn)).length,
      onVictim.length,
      'the held sessions on the killed worker ended with it',
    );
    const survivors = held.filter((conn) => !onVictim.includes(conn));
    const answers = await Promise.all(survivors.map((conn) => conn.query('SELECT 7 AS seven')));
    t.ok(
      answers.every(([rows]) => (rows as { seven: number }[])[0]?.seven === 7),
      `the ${survivors.length} held sessions on the other worker still answer`,
    );
    const gone = broker.logs.find((l) => l.msg?.startsWith('connections of a worker that exited'));
    t.ok(
      gone &&
        (gone.sessionsLost as number) >= onVictim.length &&
        (gone.sessionsLost as number) <= onVictim.length + loops,
      `the primary counted the sessions lost (${gone?.sessionsLost}): those open on the victim`,
    );

    await waitFor(
      async () =>
        (await metric(broker.adminUrl, 'podkit_mysql_broker_connections_active', {
          listener: 'read-write',
        })) === survivors.length,
      { what: 'connections_active back to the sessions still open' },
    );
    t.pass(`connections_active is ${survivors.length}: the dead worker's connections no longer count`);
    t.ok(
      ((await metric(broker.adminUrl, 'podkit_mysql_broker_bytes_total', {
        direction: 'downstream',
      })) as number) >= downstreamBefore,
      'the byte counter did not go back when the worker died',
    );
    t.equal(
      await metric(broker.adminUrl, 'podkit_mysql_broker_refused_connections_total', {
        reason: 'worker_unavailable',
      }),
      refused.length,
      'each ERR packet a client saw is counted',
    );

    for (const conn of survivors) await conn.end();
    await waitFor(() => openFdCount(broker.pid) <= primaryFds, {
      timeoutMs: 15_000,
      what: `the primary back to ${primaryFds} open files`,
    });
    t.pass(
      `the primary holds no copy of a handed-over socket (${primaryFds} open files, as before the load)`,
    );
  },
);

t.test(
  '--workers 2: while no worker serves, clients get an ERR packet, never a hang or a close',
  async (t) => {
    const db = await startMariaDb(t);
    const broker = await startBroker(t, ['--backends', backendArg(db), '--workers', '2']);
    await primaryIs(broker, db);
    const workers = children(broker.pid);
    t.equal(workers.length, 2, 'two workers');

    const attempts: Attempt[] = [];
    let stop = false;
    const loop = async () => {
      while (!stop) {
        const startedAt = Date.now();
        try {
          const conn = await connectVia(broker, db);
          await conn.query('SELECT 1');
          await conn.end();
          attempts.push({ startedAt, outcome: 'ok', detail: '' });
        } catch (err) {
          const e = err as { code?: string; errno?: number; message?: string };
          attempts.push({ startedAt, outcome: isErrPacket(e) ? 'err-packet' : 'lost', detail: describe(e) });
        }
      }
    };
    const running = Array.from({ length: 3 }, loop);
    await waitFor(() => attempts.length >= 10, { what: 'load running' });
    const killedAt = Date.now();
    for (const pid of workers) process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await readyDetail(broker)) === '0 of 2 serving', { what: 'none serving' });
    const readyz = await fetch(`${broker.adminUrl}/readyz`);
    t.equal(readyz.status, 503, '/readyz is 503 while no worker serves');
    await waitFor(async () => (await readyDetail(broker)) === '2 of 2 serving', {
      timeoutMs: 20_000,
      what: 'both replaced',
    });
    const replacedAt = Date.now();
    await waitFor(() => attempts.some((a) => a.startedAt > replacedAt && a.outcome === 'ok'), {
      what: 'served again',
    });
    stop = true;
    await Promise.all(running);

    const after = attempts.filter((a) => a.startedAt > killedAt);
    t.same(
      after.filter((a) => a.outcome === 'lost').map((a) => a.detail),
      [],
      `all ${after.length} attempts after the kill were served or refused with an ERR packet`,
    );
    t.ok(
      after.some((a) => a.outcome === 'err-packet' && /no worker process is serving/.test(a.detail)),
      'those arriving while none served were told so',
    );
    t.same(
      children(broker.pid).filter((pid) => workers.includes(pid)),
      [],
      'by two new workers',
    );
  },
);
