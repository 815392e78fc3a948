/**
 * The service's RabbitMQ connection, kept up: connected with backoff until the broker answers, set up
 * (channels, subscriptions) on every connection, and opened again after the broker closes it or goes away,
 * as Spring AMQP's caching connection factory does. A channel the broker closes on its own (a channel
 * error, a cancelled consumer) reopens the whole connection, so every subscription is set up again.
 */

import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { redactUrl } from '../../../../lib/option-types.js';
import { keepTrying, reasonOf, urlSecrets } from './retry.js';

/** Opens channels on the current connection; a channel closed by the broker reopens the connection. */
export interface BrokerSession {
  createChannel(): Promise<Channel>;
  createConfirmChannel(): Promise<ConfirmChannel>;
}

export interface BrokerConnectionOptions {
  readonly url: string;
  readonly log: Logger;
  readonly registry: Registry;
  /** Opens what the service needs on a fresh connection; a throw closes it and the connect is retried. */
  readonly setUp: (session: BrokerSession) => Promise<void>;
  /** An established connection was lost: what used its channels must wait for the next `setUp`. */
  readonly onLost: () => void;
}

/** How long a TCP connect to the broker may take before the attempt counts as failed. */
const connectTimeoutMs = 10_000;

export class BrokerConnection {
  readonly #options: BrokerConnectionOptions;
  readonly #stopping = new AbortController();
  readonly #up: Gauge;
  readonly #reconnects: Counter;
  readonly #target: string;
  #model: ChannelModel | undefined;
  #connected = false;
  #loop: Promise<void> = Promise.resolve();
  #markConnected!: () => void;
  /** Resolves at the first connection set up. */
  readonly firstConnected = new Promise<void>((resolve) => {
    this.#markConnected = resolve;
  });

  constructor(options: BrokerConnectionOptions) {
    this.#options = options;
    this.#target = redactUrl(new URL(options.url));
    this.#up = new Gauge({
      name: 'ftgo_broker_connected',
      help: 'Whether the RabbitMQ connection is up and set up (channels and subscriptions): 1 or 0.',
      registers: [options.registry],
    });
    this.#up.set(0);
    this.#reconnects = new Counter({
      name: 'ftgo_broker_reconnects_total',
      help: 'RabbitMQ connections set up again after an established one was lost.',
      registers: [options.registry],
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#stopping.abort();
    await this.#model?.close().catch(() => {});
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { log } = this.#options;
    const signal = this.#stopping.signal;
    let lostBefore = false;
    while (!signal.aborted) {
      const connection = await keepTrying('RabbitMQ', () => this.#connect(), {
        log,
        signal,
        target: this.#target,
        secrets: urlSecrets(this.#options.url),
      });
      if (!connection) return;
      this.#connected = true;
      this.#up.set(1);
      if (lostBefore) this.#reconnects.inc();
      log.info({ target: this.#target }, lostBefore ? 'reconnected to RabbitMQ' : 'connected to RabbitMQ');
      this.#markConnected();
      const reason = await connection.lost;
      this.#connected = false;
      this.#up.set(0);
      this.#model = undefined;
      this.#options.onLost();
      if (signal.aborted) return;
      lostBefore = true;
      log.warn({ target: this.#target, reason }, 'RabbitMQ connection lost; reconnecting');
    }
  }

  /** One connection, set up; `lost` resolves with the reason it closed. */
  async #connect(): Promise<{ lost: Promise<string> }> {
    const model = await amqp.connect(this.#options.url, { timeout: connectTimeoutMs });
    let closed = false;
    let reason = 'closed';
    model.on('error', (err: unknown) => {
      reason = reasonOf(err);
    });
    const lost = new Promise<string>((resolve) =>
      model.once('close', () => {
        closed = true;
        resolve(reason);
      }),
    );
    this.#model = model;
    const watch = <C extends Channel>(channel: C): C => {
      channel.on('error', (err: unknown) => {
        reason = `channel: ${reasonOf(err)}`;
      });
      channel.once('close', () => {
        // The connection closes its channels before it says it closed: only a channel closed alone
        // (still open a moment later) reopens the connection.
        setImmediate(() => {
          if (!closed && !this.#stopping.signal.aborted) {
            if (reason === 'closed') reason = 'a channel closed';
            model.close().catch(() => {});
          }
        });
      });
      return channel;
    };
    try {
      if (this.#stopping.signal.aborted) throw new Error('stopping');
      await this.#options.setUp({
        createChannel: async () => watch(await model.createChannel()),
        createConfirmChannel: async () => watch(await model.createConfirmChannel()),
      });
      if (closed) throw new Error(`connection closed while being set up: ${reason}`);
    } catch (err) {
      await model.close().catch(() => {});
      throw err;
    }
    return { lost };
  }
}
