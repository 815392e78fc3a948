/**
 * `--mysql-url mysql://user@host:port/database`. Parsed here rather than by the option layer because a
 * rejected value must never be echoed: a URL that carries a password (the one thing it must not carry)
 * would otherwise end up on stderr and in the termination log.
 */

import { invalid } from '../../../lib/options.js';

export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  database?: string;
  /** `mysql://user@host:port/database`: safe to log and show. */
  display: string;
}

const example = 'mysql://user@host:3306/database';

export function parseMysqlUrl(raw: string): MysqlTarget {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid('mysqlUrl', `is not a URL: expected ${example}`);
  }
  if (url.password) {
    const user = url.username ? ` for user ${JSON.stringify(decodeURIComponent(url.username))}` : '';
    throw invalid(
      'mysqlUrl',
      `must not contain a password (found one${user}): put it in --mysql-password-file or PODKIT_MYSQL_PASSWORD`,
    );
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw invalid('mysqlUrl', `must start with mysql:// (got ${url.protocol}//): expected ${example}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw invalid('mysqlUrl', `must name a host: expected ${example}`);
  if (!url.username) throw invalid('mysqlUrl', `must name a user: expected ${example}`);
  if (url.search || url.hash) {
    throw invalid('mysqlUrl', `takes no query or fragment: expected ${example}`);
  }
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (path.includes('/')) throw invalid('mysqlUrl', `names at most one database: expected ${example}`);
  const port = url.port ? Number(url.port) : 3306;
  const user = decodeURIComponent(url.username);
  const hostText = host.includes(':') ? `[${host}]` : host;
  return {
    host,
    port,
    user,
    ...(path ? { database: path } : {}),
    display: `mysql://${encodeURIComponent(user)}@${hostText}:${port}/${path ? encodeURIComponent(path) : ''}`,
  };
}
