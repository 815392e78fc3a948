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

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/** `service` names the defaults: consumer-service listens on 8081 and keeps its data in `ftgo_consumer`. */
export function loadConfig(
  service: string,
  defaults: { port: number; database: string },
  env: NodeJS.ProcessEnv = process.env,
): ServiceConfig {
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
      database: env.MYSQL_DATABASE ?? defaults.database,
    },
    amqpUrl: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/',
    outboxPollMs: integer(env, 'OUTBOX_POLL_MS', 200),
  };
}
