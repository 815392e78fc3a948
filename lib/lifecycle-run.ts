/**
 * The serving part of a component's life (see lifecycle.ts for the whole story): admin server, signals,
 * start, drain within the deadline, reload on SIGHUP, and the exit code.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Gauge } from 'prom-client';
import { createAdminServer } from './admin.js';
import type { Component, ComponentContext, ComponentHandle, ComponentOptions } from './component.js';
import { ConfigError, describeError, ErrorCode } from './errors.js';
import { Health } from './health.js';
import { createLogger, type Logger, logDestination } from './log.js';
import { createRegistry, registerBuildInfo } from './metrics.js';
import type { Spec } from './options.js';
import { loggableOptions } from './redact.js';
import { configFailure, type ProcessIo, writeTerminationLog } from './termination-log.js';
import { podkitVersion } from './version.js';

export function serveComponent<S extends Spec>(
  component: Component<S>,
  options: ComponentOptions<S>,
  warnings: readonly string[],
  io: ProcessIo,
): Promise<number> {
  const log = createLogger(component.name, options.logLevel, logDestination(component.logTo ?? 'stdout'));
  for (const warning of warnings) log.warn(warning);
  return new Lifecycle(component, options, log, io).run();
}

class Lifecycle<S extends Spec> {
  readonly #health = new Health();
  readonly #registry = createRegistry();
  #handle: ComponentHandle | undefined;
  #stopping = false;
  #finish!: (code: number) => void;
  readonly #done = new Promise<number>((resolve) => {
    this.#finish = resolve;
  });

  constructor(
    readonly component: Component<S>,
    readonly options: ComponentOptions<S>,
    readonly log: Logger,
    readonly io: ProcessIo,
  ) {}

  async run(): Promise<number> {
    const { component, options, log } = this;
    const version = podkitVersion();
    registerBuildInfo(this.#registry, component.name, version);
    const metrics = this.#lifecycleMetrics();
    const admin = createAdminServer({ log, registry: this.#registry, health: this.#health });
    const ctx: ComponentContext = {
      name: component.name,
      version,
      log,
      registry: this.#registry,
      health: this.#health,
      admin,
      stop: (code, reason) => this.#shutdown(code, reason),
    };

    const onStop = (signal: string) => this.#onStopSignal(signal);
    const onReload = () => void this.#reload(metrics.reloads);
    const onFatal = (err: unknown) => this.#fail(`uncaught error: ${describeError(err)}`, err);
    this.io.signals.on('SIGTERM', onStop);
    this.io.signals.on('SIGINT', onStop);
    this.io.signals.on('SIGHUP', onReload);
    process.on('uncaughtException', onFatal);
    process.on('unhandledRejection', onFatal);

    try {
      log.info({ version, options: loggableOptions(options) }, 'starting');
      const started = Date.now();
      try {
        // A signal (or ctx.stop) while start-up is still under way ends the process: start() may be
        // waiting on something that never comes, and a pod being deleted must not wait for it.
        const outcome = await Promise.race([
          component.start(options, ctx).then((handle) => ({ handle })),
          this.#done.then((code) => ({ code })),
        ]);
        if ('code' in outcome) {
          log.warn('stopped before start-up finished');
          return outcome.code;
        }
        this.#handle = outcome.handle;
      } catch (err) {
        if (err instanceof ConfigError) {
          log.error({ code: err.code, option: err.option }, err.message);
          return configFailure(component.name, err, options.terminationLog, this.io);
        }
        return this.#fail(`start failed: ${describeError(err)}`, err);
      }
      try {
        const address = await admin.listen(options.adminAddress);
        log.info({ listener: 'admin', address }, 'listening');
      } catch (err) {
        await this.#handle.close().catch(() => {});
        // The error names the server, the address and the reason: "admin server cannot listen on ...".
        return this.#fail(describeError(err), err);
      }
      if (!this.#stopping) this.#health.phase = 'running';
      log.info({ startupMs: Date.now() - started }, 'started');
      return await this.#done;
    } finally {
      this.io.signals.off('SIGTERM', onStop);
      this.io.signals.off('SIGINT', onStop);
      this.io.signals.off('SIGHUP', onReload);
      process.off('uncaughtException', onFatal);
      process.off('unhandledRejection', onFatal);
      await admin.close().catch(() => {});
    }
  }

  #lifecycleMetrics() {
    const health = this.#health;
    new Gauge({
      name: 'podkit_ready',
      help: '1 when /readyz reports ready, else 0.',
      registers: [this.#registry],
      collect() {
        this.set(health.ready ? 1 : 0);
      },
    });
    return {
      reloads: new Counter({
        name: 'podkit_reloads_total',
        help: 'Reloads requested by SIGHUP, by result.',
        labelNames: ['result'],
        registers: [this.#registry],
      }),
    };
  }

  #onStopSignal(signal: string): void {
    if (this.#stopping) {
      this.log.warn({ signal }, 'second signal: exiting now without draining');
      this.#finish(1);
      return;
    }
    this.#shutdown(0, `received ${signal}`);
  }

  /** Not ready -> optional delay -> close (stop accepting, drain) within the deadline -> exit code. */
  #shutdown(exitCode: 0 | 1, reason: string): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#health.phase = 'draining';
    const { shutdownDelay, shutdownTimeout } = this.options;
    const log = this.log;
    (exitCode === 0 ? log.info.bind(log) : log.error.bind(log))(
      { reason, shutdownDelayMs: shutdownDelay, shutdownTimeoutMs: shutdownTimeout },
      'shutting down',
    );
    if (exitCode === 1) writeTerminationLog(this.options.terminationLog, reason);
    const started = Date.now();
    const deadline = sleep(shutdownDelay + shutdownTimeout, 'deadline' as const, { ref: false });
    const drained = (async () => {
      if (shutdownDelay > 0) await sleep(shutdownDelay);
      await this.#handle?.close();
      return 'drained' as const;
    })();
    Promise.race([drained, deadline]).then(
      (outcome) => {
        if (outcome === 'deadline') {
          const message = `shutdown did not finish within ${shutdownDelay + shutdownTimeout} ms`;
          log.error({ code: ErrorCode.SHUTDOWN_TIMEOUT }, message);
          writeTerminationLog(this.options.terminationLog, message);
          this.#finish(1);
          return;
        }
        log.info({ durationMs: Date.now() - started, exitCode }, 'stopped');
        this.#finish(exitCode);
      },
      (err) => {
        log.error({ err: describeError(err) }, 'close failed');
        this.#finish(1);
      },
    );
  }

  async #reload(counter: Counter<'result'>): Promise<void> {
    const handle = this.#handle;
    if (!handle?.reload) {
      this.log.info('SIGHUP received: nothing to reload');
      return;
    }
    this.log.info('SIGHUP received: reloading');
    try {
      await handle.reload();
      counter.inc({ result: 'success' });
      this.log.info('reloaded');
    } catch (err) {
      counter.inc({ result: 'failure' });
      this.log.error(
        { code: ErrorCode.RELOAD, err: describeError(err) },
        'reload refused; the previous state keeps serving',
      );
    }
  }

  #fail(message: string, err: unknown): number {
    this.log.fatal({ err }, message);
    writeTerminationLog(this.options.terminationLog, message);
    this.#stopping = true;
    this.#finish(1);
    return 1;
  }
}
