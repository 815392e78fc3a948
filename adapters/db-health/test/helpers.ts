/**
 * What the db-health tests share: a least-privilege database user for the adapter (so its connections
 * can be counted from the server side), the adapter as a real process, probe and metric reads.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MariaDb } from '../../../test/support/mariadb.js';
import { type LogLine, type Started, startComponent, type Teardown } from '../../../test/support/process.js';

export const healthUser = 'podkit_health';
export const healthPassword = 'health-pw-9f2c';

/** The user the adapter logs in as: status privileges only, plus SELECT on `databases`. */
export async function createHealthUser(db: MariaDb, databases: string[] = []): Promise<void> {
  await db.query(`CREATE OR REPLACE USER '${healthUser}'@'127.0.0.1' IDENTIFIED BY '${healthPassword}'`);
  await db.query(`GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO '${healthUser}'@'127.0.0.1'`);
  for (const name of databases)
    await db.query(`GRANT SELECT ON \`${name}\`.* TO '${healthUser}'@'127.0.0.1'`);
}

/** A temporary directory removed when the test ends. */
export function tempDir(t: Teardown, prefix = 'podkit-db-health-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function healthUrl(db: MariaDb, database = ''): string {
  return `mysql://${healthUser}@${db.host}:${db.port}/${database}`;
}

export interface AdapterOptions {
  env?: NodeJS.ProcessEnv;
  /** Wait for /readyz 200 (default true). */
  ready?: boolean;
}

export function startAdapter(t: Teardown, args: string[], options: AdapterOptions = {}): Promise<Started> {
  return startComponent(t, 'db-health', args, {
    env: { PODKIT_MYSQL_PASSWORD: healthPassword, ...options.env },
    ready: options.ready ?? true,
    timeoutMs: 20_000,
  });
}

export interface ProbeCheck {
  ok: boolean;
  detail: {
    status: string;
    /** The short fixed reason while not passing; what the server said and the query returned are logged. */
    reason: string | null;
    expected: unknown;
    latencyMs: number | null;
    lastReason: string | null;
    failingSince?: string | null;
  };
}

export interface ProbeAnswer {
  status: number;
  body: { status: string; checks: Record<string, ProbeCheck> };
}

export async function probe(
  adminUrl: string,
  path: '/healthz' | '/readyz' | '/startupz',
): Promise<ProbeAnswer> {
  const response = await fetch(`${adminUrl}${path}`);
  return { status: response.status, body: (await response.json()) as ProbeAnswer['body'] };
}

/** All three probes' status codes, e.g. { liveness: 200, readiness: 503, startup: 200 }. */
export async function probeCodes(
  adminUrl: string,
): Promise<Record<'liveness' | 'readiness' | 'startup', number>> {
  const [liveness, readiness, startup] = await Promise.all(
    (['/healthz', '/readyz', '/startupz'] as const).map(async (path) => (await probe(adminUrl, path)).status),
  );
  return { liveness: liveness as number, readiness: readiness as number, startup: startup as number };
}

export async function metricsText(adminUrl: string): Promise<string> {
  return (await fetch(`${adminUrl}/metrics`)).text();
}

/** The value of one sample, e.g. metric(text, 'podkit_db_health_check_success', { check: 'writable' }). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',');
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return undefined;
}

/** Connections the adapter's user holds, as the server sees them. */
export async function serverConnections(db: MariaDb): Promise<number> {
  const rows = await db.query<{ n: number }[]>(
    'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?',
    [healthUser],
  );
  return Number(rows[0]?.n);
}

/** `promtool check metrics` on a scrape: exit code and findings. */
export function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

/** The adapter's "check failing" line for `check` (reason and observed value, which probe bodies omit). */
export const failingLine =
  (check: string) =>
  (line: LogLine): boolean =>
    line.msg === 'check failing' && line.check === check;

/** The debug "check ran" line for `check`, with `status` when given: where a passing value is seen. */
export const ranLine =
  (check: string, status?: string) =>
  (line: LogLine): boolean =>
    line.msg === 'check ran' && line.check === check && (status === undefined || line.status === status);

/** The newest log line matching, after waiting for a first one. */
export async function latestLog(app: Started, match: (line: LogLine) => boolean): Promise<LogLine> {
  await app.waitForLog(match);
  const lines = app.logs.filter(match);
  return lines[lines.length - 1] as LogLine;
}
