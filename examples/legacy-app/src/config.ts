/**
 * The legacy app's config file: `key = value` lines, `#` comments, like many older daemons. Parsing is
 * strict (unknown keys and bad values are errors with a line number) so that a bad config pushed by a
 * sidecar is noticed: the app keeps its previous config and reports itself unhealthy.
 */

import { readFileSync } from 'node:fs';

export interface LegacyConfig {
  port: number;
  greeting: string;
  logDir: string;
  pidFile: string | undefined;
  storage: 'memory' | 'mysql';
  mysqlHost: string;
  mysqlPort: number;
  mysqlUser: string;
  mysqlPasswordFile: string | undefined;
  mysqlDatabase: string;
}

export const defaults: LegacyConfig = {
  port: 8080,
  greeting: 'Hello from the legacy app',
  logDir: '/var/log/legacy',
  pidFile: undefined,
  storage: 'memory',
  mysqlHost: '127.0.0.1',
  mysqlPort: 3306,
  mysqlUser: 'legacy',
  mysqlPasswordFile: undefined,
  mysqlDatabase: 'legacy',
};

type Setter = (config: LegacyConfig, value: string) => void;

function int(min: number, max: number, set: (c: LegacyConfig, n: number) => void): Setter {
  return (config, value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`expected an integer from ${min} to ${max}`);
    set(config, n);
  };
}

const keys: Record<string, Setter> = {
  port: int(1, 65535, (c, n) => {
    c.port = n;
  }),
  greeting: (c, v) => {
    if (v === '') throw new Error('must not be empty');
    c.greeting = v;
  },
  log_dir: (c, v) => {
    c.logDir = v;
  },
  pid_file: (c, v) => {
    c.pidFile = v || undefined;
  },
  storage: (c, v) => {
    if (v !== 'memory' && v !== 'mysql') throw new Error('expected memory or mysql');
    c.storage = v;
  },
  mysql_host: (c, v) => {
    c.mysqlHost = v;
  },
  mysql_port: int(1, 65535, (c, n) => {
    c.mysqlPort = n;
  }),
  mysql_user: (c, v) => {
    c.mysqlUser = v;
  },
  mysql_password_file: (c, v) => {
    c.mysqlPasswordFile = v || undefined;
  },
  mysql_database: (c, v) => {
    if (!/^[A-Za-z0-9_]+$/.test(v)) throw new Error('expected letters, digits and _');
    c.mysqlDatabase = v;
  },
};

export function parseConfig(text: string, source = 'config'): LegacyConfig {
  const config = { ...defaults };
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`${source}:${index + 1}: expected key = value, got "${raw}"`);
    const [, key, value] = match as unknown as [string, string, string];
    const set = keys[key];
    if (!set) throw new Error(`${source}:${index + 1}: unknown key "${key}"`);
    try {
      set(config, value.trim());
    } catch (err) {
      throw new Error(`${source}:${index + 1}: ${key}: ${(err as Error).message}`);
    }
  });
  return config;
}

export function readConfig(path: string): LegacyConfig {
  return parseConfig(readFileSync(path, 'utf8'), path);
}
