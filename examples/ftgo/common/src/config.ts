/** A service's settings, from its environment (12-factor): every variable has a default that runs locally. */

export interface ServiceConfig {
  readonly service: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly mysql: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: string;
    readonly database: string;
  };
  readonly amqpUrl: string;
  /** How often the outbox is polled for rows to publish. */
  readonly outboxPollMs: number;
}

/** A variable the service cannot run with: the process says which and exits 2 (see `withConfig`). */
export class ConfigError extends Error {}

/** A whole-number variable, non-negative (`min` 0) or positive (`min` 1); `fallback` when unset or empty. */
export function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: 0 | 1 = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  // Digits only: Number() would also take "0x1F", "1e3" or " 80 ".
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min)
    throw new ConfigError(
      `${name} must be a ${min === 1 ? 'positive' : 'non-negative'} integer, got "${raw}"`,
    );
  return value;
}

/** An AMQP URL amqplib can use; the message never repeats it, as it may carry a password. */
function amqpUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('AMQP_URL must be a URL such as amqp://user:password@host:5672/');
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:')
    throw new ConfigError(`AMQP_URL must start with amqp:// or amqps://, got "${url.protocol}//"`);
  if (!url.hostname) throw new ConfigError('AMQP_URL must name a host');
  return raw;
}

/** `service` names the defaults: consumer-service listens on 8081 and keeps its data in `ftgo_consumer`. */
export function loadConfig(
  service: string,
  defaults: { port: number; database: string },
  env: NodeJS.ProcessEnv = process.env,
): ServiceConfig {
  const database = env.MYSQL_DATABASE ?? defaults.database;
  if (!/^\w+$/.test(database))
    throw new ConfigError(`MYSQL_DATABASE must be a plain identifier, got "${database}"`);
  return {
    service,
    host: env.HOST ?? '0.0.0.0',
    port: integer(env, 'PORT', defaults.port),
    logLevel: env.LOG_LEVEL ?? 'info',
    mysql: {
      host: env.MYSQL_HOST ?? '127.0.0.1',
      port: integer(env, 'MYSQL_PORT', 3306),
      user: env.MYSQL_USER ?? 'root',
      password: env.MYSQL_PASSWORD ?? '',
      database,
    },
    amqpUrl: amqpUrl(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/'),
    outboxPollMs: integer(env, 'OUTBOX_POLL_MS', 200),
  };
}

/**
 * Loads a process's configuration; a `ConfigError` is one line on stderr and exit 2 at once (as podkit's
 * own components), before anything listens or connects.
 */
export function withConfig<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    exitIfConfigError(service, err);
    throw err;
  }
}

/** Exits 2 with the one line a `ConfigError` says; any other error returns. */
export function exitIfConfigError(service: string, err: unknown): void {
  if (!(err instanceof ConfigError)) return;
  process.stderr.write(`${service}: ${err.message}\n`);
  process.exit(2);
}
