/**
 * Opening one connection for the checks: the password (and, with TLS, the CA bundle) is read afresh each
 * time, so a rotated Secret takes effect at the next connection; the connect is bounded by
 * --check-timeout; and the server is asked to cut any statement at the same bound, so a slow query
 * abandoned by a timed-out check does not keep running (and piling up) on the server after its
 * connection is gone.
 */

import { readFile } from 'node:fs/promises';
import mysql, { type Connection } from 'mysql2/promise';
import type { Secret } from '../../../lib/secret.js';
import type { MysqlTarget } from './mysql-url.js';

const unknownVariable = 1193;

export interface ConnectOptions {
  target: MysqlTarget;
  password: Secret;
  /** CA bundle that turns TLS on (1.2 or newer, certificate and host name verified). */
  caFile?: string;
  timeoutMs: number;
}

export function connector({
  target,
  password,
  caFile,
  timeoutMs,
}: ConnectOptions): () => Promise<Connection> {
  return async () => {
    const secret = await password.read().catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read the password from ${password.origin}: ${err.code ?? err.message}`);
    });
    const ca =
      caFile === undefined
        ? undefined
        : await readFile(caFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
            throw new Error(`cannot read --mysql-ca-file ${caFile}: ${err.code ?? err.message}`);
          });
    const conn = await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: target.user,
      ...(target.database === undefined ? {} : { database: target.database }),
      ...(secret === undefined ? {} : { password: secret }),
      ...(ca === undefined
        ? {}
        : { ssl: { ca, minVersion: 'TLSv1.2', rejectUnauthorized: true, verifyIdentity: true } }),
      connectTimeout: timeoutMs,
      charset: 'utf8mb4',
      // Values as the server shows them: dates as text, big integers as exact strings.
      dateStrings: true,
      supportBigNumbers: true,
    });
    try {
      await limitStatementTime(conn, timeoutMs);
    } catch (err) {
      conn.destroy();
      throw err;
    }
    return conn;
  };
}

/** MariaDB: max_statement_time (seconds, every statement); MySQL: max_execution_time (ms, SELECT). */
async function limitStatementTime(conn: Connection, timeoutMs: number): Promise<void> {
  for (const sql of [
    `SET SESSION max_statement_time = ${timeoutMs / 1000}`,
    `SET SESSION max_execution_time = ${Math.ceil(timeoutMs)}`,
  ]) {
    try {
      await conn.query(sql);
      return;
    } catch (err) {
      if ((err as { errno?: number }).errno !== unknownVariable) throw err;
    }
  }
}
