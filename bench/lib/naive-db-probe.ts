/**
 * The anchor for bench/db-health.ts: a health endpoint written the usual way, running its queries for
 * every probe request on a mysql2 pool (10 connections, 2 s query timeout). `select1` runs SELECT 1;
 * `checks` runs the same checks as the podkit side, the slow one included.
 *
 *   node naive-db-probe.js <port> <mysql host> <mysql port> <user> select1|checks   (password: NAIVE_PASSWORD)
 */

import { createServer } from 'node:http';
import mysql from 'mysql2/promise';

const [port, host, mysqlPort, user, mode] = process.argv.slice(2);
const pool = mysql.createPool({
  host,
  port: Number(mysqlPort),
  user,
  password: process.env.NAIVE_PASSWORD,
  connectionLimit: 10,
});
const queries =
  mode === 'checks'
    ? [
        'SELECT 1',
        'SELECT SLEEP(0.5)',
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only', 'innodb_read_only')",
        "SHOW GLOBAL STATUS LIKE 'Threads_connected'",
      ]
    : ['SELECT 1'];

const server = createServer(async (_req, res) => {
  try {
    for (const sql of queries) await pool.query({ sql, timeout: 2000 });
    res.writeHead(200).end('ok\n');
  } catch (err) {
    res.writeHead(503).end(`${(err as Error).message}\n`);
  }
});
server.listen(Number(port), '127.0.0.1');
