/**
 * What a client is told when the broker cannot give it a backend: a MySQL ERR packet in place of the
 * server greeting, as a real server sends "Too many connections". The codes are server codes that
 * MySQL and MariaDB both define and that drivers know (mysql2 names them ER_CON_COUNT_ERROR,
 * ER_SERVER_SHUTDOWN, ER_NET_READ_INTERRUPTED); client-range codes such as 2003 cannot be used, MariaDB's
 * client library rejects them in an ERR packet as a malformed packet.
 */

import type { RefusalReason } from './metrics.js';

export const refusalCodes: Record<RefusalReason, number> = {
  /** ER_CON_COUNT_ERROR, what the server itself sends at max_connections. */
  max_connections: 1040,
  /** ER_SERVER_SHUTDOWN: drivers treat it as "server unavailable, retry later", which is the truth. */
  no_backend: 1053,
  /** ER_NET_READ_INTERRUPTED: a timeout waiting for the server. */
  connect_timeout: 1159,
  /** As no_backend: with --workers, no worker process could carry the connection; retrying is right. */
  worker_unavailable: 1053,
};

export function refusalMessage(reason: RefusalReason, detail: string): string {
  switch (reason) {
    case 'max_connections':
      return `Too many connections (podkit mysql-broker: ${detail})`;
    case 'no_backend':
      return `Can't connect to MySQL server: no healthy backend (podkit mysql-broker: ${detail})`;
    case 'connect_timeout':
      return `Can't connect to MySQL server: ${detail} (podkit mysql-broker --connect-timeout)`;
    case 'worker_unavailable':
      return `Can't connect to MySQL server: no broker worker to carry the connection (podkit mysql-broker: ${detail})`;
  }
}
