/**
 * Shared by the mysql-broker tests: start the real broker process, talk to it with the real `mariadb`
 * client (Debian mariadb-client) and mysql2, read its metrics.
 */

import { execFile } from 'node:child_process';
import mysql, { type Connection, type ConnectionOptions } from 'mysql2/promise';
import type { MariaDb } from '../../../test/support/mariadb.js';
import { type Started, startComponent, type Teardown } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';

export interface Broker extends Started {
  /** The read-write listener, host and port. */
  host: string;
  port: number;
}

export async function startBroker(
  t: Teardown,
  args: string[],
  options: { ready?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<Broker> {
  const proc = await startComponent(t, 'mysql-broker', ['--listen', '127.0.0.1:0', ...args], {
    // Generous: the machine is shared, and tap's coverage makes every child start slower.
    timeoutMs: 60_000,
    ...options,
  });
  const [host, port] = (await proc.address('read-write')).split(':') as [string, string];
  return Object.assign(proc, { host, port: Number(port) });
}

/**
 * Resolves once `db` is the read-write primary. At start-up the backends are checked at once and the
 * first to answer is primary until those ahead of it have answered too; /readyz is 200 from the first
 * healthy answer, so "the first healthy backend wins" is judged after this.
 */
export async function primaryIs(broker: Broker, db: MariaDb): Promise<void> {
  const labels = { backend: `${db.host}:${db.port}`, role: 'read-write' };
  await waitFor(
    async () => (await metric(broker.adminUrl, 'podkit_mysql_broker_backend_primary', labels)) === 1,
    {
      what: `${labels.backend} the primary`,
    },
  );
}

export function backendArg(...dbs: MariaDb[]): string {
  return dbs.map((db) => `${db.host}:${db.port}`).join(',');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The `mariadb` command-line client as a user runs it (default TLS settings), password from MYSQL_PWD. */
export function mariadbCli(
  target: { host: string; port: number },
  password: string,
  sql: string,
  timeoutMs = 30_000,
  user = 'root',
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      'mariadb',
      ['-h', target.host, '-P', String(target.port), '-u', user, '--batch', '--skip-column-names', '-e', sql],
      { env: { ...process.env, MYSQL_PWD: password }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function connectVia(
  target: { host: string; port: number },
  db: MariaDb,
  options: Partial<ConnectionOptions> = {},
): Promise<Connection> {
  const conn = await mysql.createConnection({
    host: target.host,
    port: target.port,
    user: db.user,
    password: db.password,
    connectTimeout: 10_000,
    ...options,
  });
  // A connection the broker closes while idle emits 'error'; tests observe that through 'end' or a
  // failing query, and an unhandled 'error' event would end the test process instead.
  conn.on('error', () => {});
  return conn;
}

/** Which server a connection reached: each private MariaDB listens on its own port. */
export async function serverPort(conn: Connection): Promise<number> {
  const [rows] = await conn.query('SELECT @@port AS port');
  return Number((rows as { port: number }[])[0]?.port);
}

export async function metricsText(adminUrl: string): Promise<string> {
  return (await fetch(`${adminUrl}/metrics`)).text();
}

/** One sample's value; labels match exactly. Undefined when absent. */
export async function metric(
  adminUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const text = await metricsText(adminUrl);
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (have === wanted) return Number(match[3]);
  }
  return undefined;
}

/** The error a mysql2 connect fails with (code name and errno), or a failure when it connects. */
export async function connectError(
  target: { host: string; port: number },
  db: MariaDb,
): Promise<{ code?: string; errno?: number; message: string }> {
  try {
    const conn = await connectVia(target, db);
    await conn.end();
  } catch (err) {
    const e = err as { code?: string; errno?: number; message: string };
    return { code: e.code, errno: e.errno, message: e.message };
  }
  throw new Error('expected the connection to be refused');
}
