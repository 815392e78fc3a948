/**
 * The MySQL source: SHOW GLOBAL STATUS and a few key variables at each scrape, named as
 * mysqld_exporter names them (`mysql_global_status_threads_connected`, `mysql_global_variables_
 * max_connections`, untyped like its own), with ON/OFF and YES/NO as 1/0 and the server's version as
 * the label of `mysql_version_info`. One connection is kept between scrapes and opened again after an
 * error, through db-health's connector (password re-read at each connect, statements bounded).
 */

import type { Connection } from 'mysql2/promise';
import type { Secret } from '../../../lib/secret.js';
import { connector } from '../../db-health/src/connect.js';
import type { MysqlTarget } from '../../db-health/src/mysql-url.js';
import type { FamilyBuilder } from './families.js';
import type { Source } from './source.js';

/** The variables a dashboard puts beside the status counters: limits and sizes. */
export const keyVariables = [
  'max_connections',
  'max_user_connections',
  'innodb_buffer_pool_size',
  'innodb_log_file_size',
  'innodb_log_buffer_size',
  'table_open_cache',
  'table_definition_cache',
  'thread_cache_size',
  'open_files_limit',
  'max_allowed_packet',
  'query_cache_size',
  'key_buffer_size',
  'read_only',
  'super_read_only',
  'innodb_read_only',
  'long_query_time',
  'wait_timeout',
  'max_heap_table_size',
  'tmp_table_size',
];

interface Row {
  Variable_name: string;
  Value: string | null;
}

export class MysqlSource implements Source {
  readonly name = 'mysql';
  #connection: Promise<Connection> | undefined;
  readonly #connect: () => Promise<Connection>;

  constructor(target: MysqlTarget, password: Secret, timeoutMs: number) {
    this.#connect = connector({ target, password, timeoutMs });
  }

  async collect(out: FamilyBuilder): Promise<void> {
    this.#connection ??= this.#connect();
    const connection = this.#connection;
    try {
      const conn = await connection;
      const [status] = await conn.query('SHOW GLOBAL STATUS');
      const [variables] = await conn.query(
        `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${keyVariables.map(() => '?').join(',')}) OR Variable_name = 'version'`,
        keyVariables,
      );
      writeRows(status as Row[], 'mysql_global_status_', 'Global status', out);
      writeRows(variables as Row[], 'mysql_global_variables_', 'Global variable', out);
    } catch (err) {
      if (this.#connection === connection) this.#connection = undefined;
      void connection.then((conn) => conn.destroy()).catch(() => {});
      throw err;
    }
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.then((conn) => conn.end()).catch(() => {});
  }
}

const flags: Record<string, number> = { on: 1, yes: 1, true: 1, off: 0, no: 0, false: 0 };

/** A status or variable value as a number, or undefined for text. */
export function mysqlNumber(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value)) return Number(value);
  const flag = value.toLowerCase();
  return Object.hasOwn(flags, flag) ? flags[flag] : undefined;
}

function writeRows(rows: readonly Row[], prefix: string, what: string, out: FamilyBuilder): void {
  for (const { Variable_name: name, Value: value } of rows) {
    if (name === 'version' && value) {
      const info = out.family('mysql_version_info', 'gauge', 'Always 1; the label is the server version.', [
        'version',
      ]);
      if (info) out.add(info, [['version', value]], 1);
      continue;
    }
    const number = mysqlNumber(value);
    if (number === undefined) continue;
    const family = out.family(`${prefix}${name}`, 'untyped', `${what} ${name}.`);
    if (family) out.add(family, [], number);
  }
}
