/**
 * `--mysql-url mysql://user@host:port/database`, parsed once by the option layer (opt.custom). A refusal
 * never echoes the value (`Rejected`): a URL that carries a password (the one thing it must not carry)
 * would otherwise end up on stderr and in the termination log.
 */

import { Rejected } from '../../../lib/option-types.js';

export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  database?: string;
  /** `mysql://user@host:port/database`: safe to log and show (also what String() and JSON give). */
  display: string;
}

const example = 'mysql://user@host:3306/database';

export function parseMysqlUrl(raw: string): MysqlTarget {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Rejected(`is not a URL: expected ${example}`);
  }
  if (url.password) {
    const user = url.username ? ` for user ${JSON.stringify(decodeURIComponent(url.username))}` : '';
    throw new Rejected(
      `must not contain a password (found one${user}): put it in --mysql-password-file or PODKIT_MYSQL_PASSWORD`,
    );
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new Rejected(`must start with mysql:// (got ${url.protocol}//): expected ${example}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new Rejected(`must name a host: expected ${example}`);
  if (!url.username) throw new Rejected(`must name a user: expected ${example}`);
  if (url.search || url.hash) {
    throw new Rejected(`takes no query or fragment: expected ${example}`);
  }
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (path.includes('/')) throw new Rejected(`names at most one database: expected ${example}`);
  const port = url.port ? Number(url.port) : 3306;
  const user = decodeURIComponent(url.username);
  const hostText = host.includes(':') ? `[${host}]` : host;
  const display = `mysql://${encodeURIComponent(user)}@${hostText}:${port}/${path ? encodeURIComponent(path) : ''}`;
  const target = { host, port, user, ...(path ? { database: path } : {}), display };
  // Logs (the start-up line prints every option) show the URL, not an object.
  for (const method of ['toString', 'toJSON'])
    Object.defineProperty(target, method, { value: () => display, enumerable: false });
  return target;
}
