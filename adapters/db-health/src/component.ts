/**
 * db-health: an adapter that gives an unmodified database container probes that mean something. It
 * runs real queries (built-in and custom) in a background loop on its own few connections and serves
 * the latest results as /healthz, /readyz and /startupz for the kubelet, plus metrics.
 */

import { readFile } from 'node:fs/promises';
import { defineComponent } from '../../../lib/component.js';
import { invalid } from '../../../lib/options.js';
import { databaseUp, freeConnections, replicationLag, writable } from './built-ins.js';
import { CheckLoop } from './check-loop.js';
import { type Check, customCheck } from './checks.js';
import { parseChecksFile } from './checks-file.js';
import { connector } from './connect.js';
import { execProbe } from './exec-probe.js';
import { createMetrics } from './metrics.js';
import { parseMysqlUrl } from './mysql-url.js';
import { dbHealthOptions } from './options.js';
import { ConnectionPool } from './pool.js';
import { ProbeBoard } from './probe-board.js';

/** How long a shutdown waits for the server to acknowledge closing idle connections. */
const closeGraceMs = 1000;

export const dbHealth = defineComponent({
  name: 'db-health',
  summary: 'liveness, readiness and startup probes for a database, from real queries',
  adminPort: 9408,
  options: dbHealthOptions,

  check(options) {
    if (options.probe) return;
    if (options.mysqlUrl === undefined)
      throw invalid(
        'mysqlUrl',
        'is required: set --mysql-url or PODKIT_MYSQL_URL (mysql://user@host:port/database)',
      );
    parseMysqlUrl(options.mysqlUrl);
  },

  async oneShot(options, io) {
    return options.probe ? execProbe(options.probe, options.adminAddress, io) : undefined;
  },

  async start(options, ctx) {
    const target = parseMysqlUrl(options.mysqlUrl ?? '');
    const builtIns: Check[] = [databaseUp];
    if (options.maxReplicationLag !== undefined)
      builtIns.push(replicationLag(options.maxReplicationLag / 1000));
    if (options.requireWritable) builtIns.push(writable);
    if (options.minFreeConnections !== undefined) builtIns.push(freeConnections(options.minFreeConnections));
    const loadChecks = async (): Promise<Check[]> => {
      if (options.checksFile === undefined) return builtIns;
      const text = await readFile(options.checksFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw invalid('checksFile', `${options.checksFile}: cannot read: ${err.code ?? err.message}`);
      });
      return [...builtIns, ...parseChecksFile(text, options.checksFile).map(customCheck)];
    };
    const checks = await loadChecks();

    const board = new ProbeBoard(ctx.health, ctx.log);
    board.addStartupRoute(ctx.admin);
    const pool = new ConnectionPool({
      connect: connector(target, options.mysqlPassword, options.checkTimeout),
      onOpened: () => metrics.connectionsOpened.inc(),
    });
    const metrics = createMetrics(ctx.registry, {
      results: () => loop.results,
      probeOk: (probe) => board.ok(probe),
      openConnections: () => pool.size,
    });
    const refresh = () =>
      board.update({
        checks: loop.checks,
        results: loop.results,
        now: Date.now(),
        livenessGraceMs: options.livenessGrace,
      });
    const loop: CheckLoop = new CheckLoop(checks, {
      pool,
      server: `${target.host}:${target.port}`,
      intervalMs: options.checkInterval,
      timeoutMs: options.checkTimeout,
      concurrency: options.poolSize,
      metrics,
      log: ctx.log,
      onResult: refresh,
    });
    refresh();
    loop.start();
    ctx.log.info(
      {
        database: target.display,
        passwordFrom: options.mysqlPassword.isSet ? options.mysqlPassword.origin : 'none',
        checks: checks.map((check) => check.name),
      },
      'checking',
    );

    return {
      async close() {
        await loop.stop();
        await pool.close(closeGraceMs);
      },
      async reload() {
        const next = await loadChecks();
        loop.setChecks(next);
        refresh();
        ctx.log.info({ checks: next.map((check) => check.name) }, 'checks reloaded');
      },
    };
  },
});
