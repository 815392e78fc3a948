/**
 * The service's own schema: created when missing, migrated in order (each migration once, recorded in
 * `schema_migrations`), reached through a mysql2 pool. The outbox and processed-message tables every
 * service needs come first.
 */

import mysql, { type Pool, type PoolConnection } from 'mysql2/promise';
import type { ServiceConfig } from './config.js';

export type Migration = { readonly id: string; readonly sql: readonly string[] };

const messagingTables: Migration = {
  id: '0000-messaging',
  sql: [
    `CREATE TABLE outbox (
      id BIGINT AUTO_INCREMENT PRIMARY KEY,
      message_id CHAR(36) NOT NULL UNIQUE,
      destination VARCHAR(200) NOT NULL,
      type VARCHAR(200) NOT NULL,
      aggregate_type VARCHAR(200) NULL,
      aggregate_id VARCHAR(200) NULL,
      correlation_id VARCHAR(200) NULL,
      reply_to VARCHAR(200) NULL,
      payload LONGTEXT NOT NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      sent_at TIMESTAMP(3) NULL,
      KEY unsent (sent_at, id)
    )`,
    `CREATE TABLE processed_messages (
      consumer VARCHAR(200) NOT NULL,
      message_id CHAR(36) NOT NULL,
      processed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (consumer, message_id)
    )`,
  ],
};

/** The service's pool: connects on first use, so it can exist before the server is reachable. */
export function createPool(config: ServiceConfig['mysql']): Pool {
  return mysql.createPool({ ...config, connectionLimit: 10, decimalNumbers: false, timezone: 'Z' });
}

/** Creates the service's database when missing and applies the migrations `pool` has not seen. */
export async function prepareSchema(
  pool: Pool,
  config: ServiceConfig['mysql'],
  migrations: readonly Migration[],
): Promise<void> {
  const { database, ...server } = config;
  if (!/^\w+$/.test(database))
    throw new Error(`MYSQL_DATABASE must be a plain identifier, got "${database}"`);
  const admin = await mysql.createConnection(server);
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
  } finally {
    await admin.end();
  }
  await migrate(pool, [messagingTables, ...migrations]);
}

/** A pool on a migrated schema, or the first error (tests; a service keeps trying, see service.ts). */
export async function openDatabase(
  config: ServiceConfig['mysql'],
  migrations: readonly Migration[],
): Promise<Pool> {
  const pool = createPool(config);
  try {
    await prepareSchema(pool, config, migrations);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}

async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<void> {
  await pool.query(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id VARCHAR(200) PRIMARY KEY, applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))',
  );
  const conn = await pool.getConnection();
  try {
    // One migrator at a time when several replicas start together.
    await conn.query("SELECT GET_LOCK('schema_migrations', 60)");
    const [rows] = await conn.query('SELECT id FROM schema_migrations');
    const applied = new Set((rows as { id: string }[]).map((row) => row.id));
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      for (const statement of migration.sql) await conn.query(statement);
      await conn.query('INSERT INTO schema_migrations (id) VALUES (?)', [migration.id]);
    }
  } finally {
    await conn.query("SELECT RELEASE_LOCK('schema_migrations')").catch(() => {});
    conn.release();
  }
}

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: Pool, work: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const result = await work(conn);
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => {});
    throw err;
  } finally {
    conn.release();
  }
}
