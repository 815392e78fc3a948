/**
 * The FTGO example services (examples/ftgo) as local processes from dist/, against a private MariaDB and
 * RabbitMQ started here: a database per service on the one server, one broker for their messages.
 * `npm run demo:ftgo` and `npm run bench -- ftgo` both start them this way.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FtgoService, ftgoPorts, gatewayVariable } from '../../examples/ftgo/common/src/services.js';
import { type MariaDb, mariaDbAvailable, startMariaDb } from '../../test/support/mariadb.js';
import { type RabbitMq, rabbitMqAvailable, startRabbitMq } from '../../test/support/rabbitmq.js';
import type { DemoContainer } from './context.js';
import { DemoProcesses, demoPort } from './processes.js';

/** The services behind the gateway, in the order they start: each one's events exist before their readers. */
const services = [
  'consumer-service',
  'restaurant-service',
  'accounting-service',
  'kitchen-service',
  'order-service',
  'order-history-service',
  'delivery-service',
] as const satisfies readonly FtgoService[];
const gatewayPort = ftgoPorts['api-gateway'];

export interface FtgoStack {
  /** Where each service listens, `api-gateway` last, in start order. */
  readonly urls: ReadonlyMap<string, string>;
  url(name: string): string;
  /** Each service's process. */
  readonly processes: DemoProcesses;
  readonly db: MariaDb;
  readonly broker: RabbitMq;
  /** Stops the services newest first, then the broker and the database; 0 when every service exited 0. */
  stop(): Promise<number>;
}

export function ftgoStackAvailable(): boolean {
  return mariaDbAvailable() && rabbitMqAvailable();
}

/** Starts the database and broker, then each service once the one before is ready, the gateway last. */
export async function startFtgoStack(prefix: string, randomPorts: boolean): Promise<FtgoStack> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-ftgo-'));
  const teardowns: (() => unknown)[] = [];
  const teardown = { teardown: (fn: () => unknown) => teardowns.push(fn) };
  const processes = new DemoProcesses(prefix);
  const stop = async (): Promise<number> => {
    const failures = await processes.stop();
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
    return failures === 0 ? 0 : 1;
  };

  const urls = new Map<string, string>();
  try {
    const [db, broker] = await Promise.all([startMariaDb(teardown), startRabbitMq(teardown)]);
    const shared = { HOST: '127.0.0.1', ...ftgoConnectionEnv(db, broker) };
    const containers: DemoContainer[] = [];
    for (const service of services) {
      const port = await demoPort(ftgoPorts[service], randomPorts);
      urls.set(service, `http://127.0.0.1:${port}`);
      containers.push(serviceContainer(service, port, shared));
    }
    const port = await demoPort(gatewayPort, randomPorts);
    urls.set('api-gateway', `http://127.0.0.1:${port}`);
    const downstreams = Object.fromEntries(
      services.map((service) => [gatewayVariable(service), urls.get(service) as string]),
    );
    containers.push(serviceContainer('api-gateway', port, { ...shared, ...downstreams }));
    await processes.start(containers);
    const url = (name: string) => {
      const found = urls.get(name);
      if (!found) throw new Error(`no FTGO service ${name}`);
      return found;
    };
    return { urls, url, processes, db, broker, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** What every service reads to reach its database and the broker (common/src/config.ts). */
export function ftgoConnectionEnv(db: MariaDb, broker: RabbitMq): Record<string, string> {
  return {
    MYSQL_HOST: db.host,
    MYSQL_PORT: String(db.port),
    MYSQL_USER: db.user,
    MYSQL_PASSWORD: db.password,
    AMQP_URL: broker.url,
  };
}

function serviceContainer(name: string, port: number, env: Record<string, string>): DemoContainer {
  return {
    name,
    script: `examples/ftgo/${name}/src/main.js`,
    args: [],
    env: { ...env, PORT: String(port) },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
    tryLines: [],
  };
}
