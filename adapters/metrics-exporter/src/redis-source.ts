/**
 * The Redis source: INFO ALL on a long-lived ioredis connection at each scrape. Commands are not
 * queued while Redis is away (a scrape then reports the source down at once instead of piling up
 * requests), and the password is read from its Secret before each scrape, so a rotated one is used
 * at the next reconnect.
 */

import type { Redis as RedisClient } from 'ioredis';
import type { Logger } from '../../../lib/log.js';
import type { Secret } from '../../../lib/secret.js';
import type { FamilyBuilder } from './families.js';
import { writeRedisInfo } from './redis-info.js';
import type { Source } from './source.js';

type RedisClass = typeof import('ioredis').Redis;

/** ioredis is CommonJS: its class is `Redis` under node's loader and `default.Redis` in the bundle. */
async function loadRedis(): Promise<RedisClass> {
  const loaded = (await import('ioredis')) as unknown as {
    Redis?: RedisClass;
    default?: { Redis?: RedisClass };
  };
  const Redis = loaded.Redis ?? loaded.default?.Redis;
  if (!Redis) throw new Error('ioredis did not load its Redis class');
  return Redis;
}

export interface RedisTarget {
  url: URL;
  password: Secret;
  caFile: string | undefined;
  log: Logger;
}

export class RedisSource implements Source {
  readonly name = 'redis';

  private constructor(private readonly client: RedisClient) {}

  static async create({ url, password, caFile, log }: RedisTarget): Promise<RedisSource> {
    const Redis = await loadRedis();
    const tls = url.protocol === 'rediss:';
    const ca = tls && caFile ? await (await import('node:fs/promises')).readFile(caFile) : undefined;
    const db = Number(url.pathname.replace(/^\//, '') || 0);
    const client = new Redis({
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(url.port || 6379),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(password.isSet ? { password: await password.read() } : {}),
      db,
      ...(tls ? { tls: { minVersion: 'TLSv1.2', ...(ca ? { ca } : {}), servername: url.hostname } } : {}),
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // The collector reports a down source; ioredis would print unhandled errors to stderr.
    client.on('error', (err: Error) =>
      log.debug({ source: 'redis', err: err.message }, 'redis connection error'),
    );
    const source = new RedisSource(client);
    client.connect().catch(() => {});
    source.#password = password;
    return source;
  }

  #password: Secret | undefined;

  async collect(out: FamilyBuilder, signal: AbortSignal): Promise<void> {
    if (this.#password?.isSet) this.client.options.password = await this.#password.read();
    await this.#ready(signal);
    const info = await this.client.info('all');
    writeRedisInfo(info, out);
  }

  /** Waits for the connection ioredis is (re)opening, until the scrape's deadline. */
  async #ready(signal: AbortSignal): Promise<void> {
    const client = this.client;
    if (client.status === 'ready') return;
    if (client.status === 'wait' || client.status === 'end') client.connect().catch(() => {});
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        client.off('ready', done);
        signal.removeEventListener('abort', done);
        if (client.status === 'ready') resolve();
        else reject(new Error(`not connected (${client.status})`));
      };
      client.once('ready', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
