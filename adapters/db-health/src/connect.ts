/**
 * Opening one connection for the checks: the password is read afresh each time (a rotated Secret file
 * takes effect at the next connection), the connect is bounded by --check-timeout, and the server is
 * asked to cut any statement at the same bound, so a slow query abandoned by a timed-out check does not
 * keep running (and piling up) on the server after its connection is gone.
 */

import mysql, { type Connection } from 'mysql2/promise';
import type { Secret } from '../../../lib/secret.js';
import type { MysqlTarget } from './mysql-url.js';

const unknownVariable = 1193;

export function connector(
  target: MysqlTarget,
  password: Secret,
  timeoutMs: number,
): () => Promise<Connection> {
  return async () => {
    const secret = await password.read().catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read the password from ${password.origin}: ${err.code ?? err.message}`);
    });
    const conn = await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: target.user,
      ...(target.database === undefined ? {} : { database: target.database }),
      ...(secret === undefined ? {} : { password: secret }),
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
