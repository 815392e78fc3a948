/**
 * The running adapter: built-in and custom checks, their connection pool, the background loop, the
 * probes and the metrics, wired together. Loaded only when the adapter starts, so `--probe` (an exec
 * probe, run every few seconds) does not pay for mysql2 and the YAML parser.
 */

import { readFile, stat } from 'node:fs/promises';
import type { ComponentContext, ComponentHandle, ComponentOptions } from '../../../lib/component.js';
import { invalid } from '../../../lib/options.js';
import { databaseUp, freeConnections, replicationLag, writable } from './built-ins.js';
import { CheckLoop } from './check-loop.js';
import { type Check, customCheck } from './checks.js';
import { maxChecksFileBytes, parseChecksFile } from './checks-file.js';
import { connector } from './connect.js';
import { createMetrics } from './metrics.js';
import type { MysqlTarget } from './mysql-url.js';
import type { dbHealthOptions } from './options.js';
import { ConnectionPool } from './pool.js';
import { ProbeBoard } from './probe-board.js';

export async function startAdapter(
  options: ComponentOptions<typeof dbHealthOptions>,
  ctx: ComponentContext,
): Promise<ComponentHandle> {
  // check() made sure it is set outside --probe mode.
  const target = options.mysqlUrl as MysqlTarget;
  const builtIns: Check[] = [databaseUp];
  if (options.maxReplicationLag !== undefined)
    builtIns.push(replicationLag(options.maxReplicationLag / 1000));
  if (options.requireWritable) builtIns.push(writable);
  if (options.minFreeConnections !== undefined) builtIns.push(freeConnections(options.minFreeConnections));
  const loadChecks = async (): Promise<Check[]> => {
    if (options.checksFile === undefined) return builtIns;
    const path = options.checksFile;
    const cannotRead = (err: NodeJS.ErrnoException) => {
      throw invalid('checksFile', `${path}: cannot read: ${err.code ?? err.message}`);
    };
    // Looked at before it is read: a checks file pointed at something huge is refused, not loaded.
    const { size } = await stat(path).catch(cannotRead);
    if (size > maxChecksFileBytes) {
      throw invalid(
        'checksFile',
        `${path}: is ${size} bytes, over the ${maxChecksFileBytes} a checks file may be`,
      );
    }
    const text = await readFile(path, 'utf8').catch(cannotRead);
    return [...builtIns, ...parseChecksFile(text, path).map(customCheck)];
  };
  const checks = await loadChecks();

  const board = new ProbeBoard(ctx.health, ctx.log);
  board.addStartupRoute(ctx.admin);
  const pool = new ConnectionPool({
    connect: connector({
      target,
      password: options.mysqlPassword,
      ...(options.mysqlCaFile === undefined ? {} : { caFile: options.mysqlCaFile }),
      timeoutMs: options.checkTimeout,
    }),
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
      tls: options.mysqlCaFile === undefined ? 'off' : `verified against ${options.mysqlCaFile}`,
      checks: checks.map((check) => check.name),
    },
    'checking',
  );

  return {
    async close() {
      await loop.stop();
      await pool.close();
    },
    async reload() {
      const next = await loadChecks();
      loop.setChecks(next);
      refresh();
      ctx.log.info({ checks: next.map((check) => check.name) }, 'checks reloaded');
    },
  };
}
