/**
 * `--redis-url redis://[user@]host:port[/db]` (rediss:// for TLS), parsed once by the option layer. A
 * refusal never echoes the value: a URL with a password in it must not reach stderr or the
 * termination log; the password comes from --redis-password-file or the environment.
 */

import { Rejected } from '../../../lib/option-types.js';

const example = 'redis://host:6379/0';

export function parseRedisUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Rejected(`is not a URL: expected ${example}`);
  }
  if (url.password)
    throw new Rejected(
      'must not contain a password: put it in --redis-password-file or PODKIT_REDIS_PASSWORD',
    );
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new Rejected(`must start with redis:// or rediss:// (got ${url.protocol}//): expected ${example}`);
  if (!url.hostname) throw new Rejected(`must name a host: expected ${example}`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db))
    throw new Rejected(`names a database by its number, as in ${example}`);
  if (url.search || url.hash) throw new Rejected(`takes no query or fragment: expected ${example}`);
  // Logs (the start-up line prints every option) show the URL as given.
  Object.defineProperty(url, 'toJSON', { value: () => url.toString(), enumerable: false });
  return url;
}
