/**
 * The built-in checks. Each reads only server status (no user tables), so a user with PROCESS and
 * REPLICATION CLIENT (MariaDB: SLAVE MONITOR) and no data privileges can run them all.
 */

import { type Check, customCheck, type Queryable } from './checks.js';

/** Names the built-in checks use; a custom check cannot take them. */
export const builtInNames = ['database-up', 'replication-lag', 'writable', 'free-connections'] as const;

/** SELECT 1: the server accepts logins and answers. Gates every probe (liveness after a grace). */
export const databaseUp: Check = customCheck({
  name: 'database-up',
  sql: 'SELECT 1',
  expect: { kind: 'equals', value: 1 },
  probes: ['liveness', 'readiness', 'startup'],
});

type Row = Record<string, unknown>;

async function rows(conn: Queryable, sql: string): Promise<Row[]> {
  const [result] = await conn.query({ sql });
  return Array.isArray(result) ? (result as Row[]) : [];
}

/** `SHOW GLOBAL VARIABLES/STATUS` rows as a name -> value map. */
async function settings(conn: Queryable, sql: string): Promise<Map<string, string>> {
  return new Map((await rows(conn, sql)).map((row) => [String(row.Variable_name), String(row.Value)]));
}

/**
 * Read-write, or which setting makes the server read-only. MariaDB 11 turned read_only into an enum
 * (OFF, ON, NO_LOCK, NO_LOCK_NO_ADMIN): anything but OFF refuses ordinary writes.
 */
export const writable: Check = {
  name: 'writable',
  probes: ['readiness'],
  expected: { equals: 'read-write' },
  async run(conn) {
    const values = await settings(
      conn,
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only', 'innodb_read_only')",
    );
    const set = [...values].filter(([, value]) => value !== 'OFF' && value !== '0');
    if (set.length === 0) return { ok: true, observed: 'read-write' };
    const which = set.map(([name, value]) => `${name}=${value}`).join(', ');
    return { ok: false, observed: `read-only (${which})`, reason: `the server is read-only (${which})` };
  },
};

/** Free connection slots: max_connections - Threads_connected, at least `min`. */
export function freeConnections(min: number): Check {
  return {
    name: 'free-connections',
    probes: ['readiness'],
    expected: { min },
    async run(conn) {
      const max = Number(
        (await settings(conn, "SHOW GLOBAL VARIABLES LIKE 'max_connections'")).get('max_connections'),
      );
      const used = Number(
        (await settings(conn, "SHOW GLOBAL STATUS LIKE 'Threads_connected'")).get('Threads_connected'),
      );
      const free = max - used;
      if (!Number.isFinite(free))
        return { ok: false, observed: null, reason: 'max_connections or Threads_connected is unreadable' };
      return free >= min
        ? { ok: true, observed: free }
        : {
            ok: false,
            observed: free,
            reason: `${free} free connections (${used} of ${max} in use), below the minimum ${min}`,
          };
    },
  };
}

const parseErrorNumber = 1064;

/** SHOW REPLICA STATUS (MariaDB 10.5+, MySQL 8.0.22+), or SHOW SLAVE STATUS on older servers. */
async function replicaStatus(conn: Queryable): Promise<Row[]> {
  try {
    return await rows(conn, 'SHOW REPLICA STATUS');
  } catch (err) {
    if ((err as { errno?: number }).errno !== parseErrorNumber) throw err;
    return rows(conn, 'SHOW SLAVE STATUS');
  }
}

/** Column names changed in MySQL 8.0.22 (Source/Replica); MariaDB keeps Master/Slave. */
function column(row: Row, ...names: string[]): unknown {
  for (const name of names) if (row[name] !== undefined) return row[name];
  return undefined;
}

/**
 * Seconds_Behind_Master at most `maxSeconds`. A server that is not a replica passes with the observed
 * value "not a replica" (a promoted primary must stay ready); a replica whose threads are stopped has
 * no lag to measure and fails, naming the threads and the last error.
 */
export function replicationLag(maxSeconds: number): Check {
  return {
    name: 'replication-lag',
    probes: ['readiness'],
    expected: { max: maxSeconds },
    async run(conn) {
      const channels = await replicaStatus(conn);
      if (channels.length === 0) return { ok: true, observed: 'not a replica' };
      let lag = 0;
      for (const row of channels) {
        const seconds = column(row, 'Seconds_Behind_Master', 'Seconds_Behind_Source');
        if (seconds === null || seconds === undefined) {
          const io = column(row, 'Slave_IO_Running', 'Replica_IO_Running');
          const sql = column(row, 'Slave_SQL_Running', 'Replica_SQL_Running');
          const lastError = [column(row, 'Last_IO_Error'), column(row, 'Last_SQL_Error')]
            .filter(Boolean)
            .join('; ');
          return {
            ok: false,
            observed: null,
            reason: `replication is not running (IO thread: ${io}, SQL thread: ${sql})${lastError ? `: ${lastError}` : ''}`,
          };
        }
        lag = Math.max(lag, Number(seconds));
      }
      return lag <= maxSeconds
        ? { ok: true, observed: lag }
        : {
            ok: false,
            observed: lag,
            reason: `replication lag ${lag} s is above the maximum ${maxSeconds} s`,
          };
    },
  };
}
