/**
 * What a component is: a name, an option spec, and `start(options, ctx)` returning a handle with
 * `close()` (and optionally `reload()`). Everything around it (parsing, logs, admin server, signals,
 * exit codes) is the lifecycle's job, so every component behaves the same way.
 */

import type { Registry } from 'prom-client';
import type { AdminServer } from './admin.js';
import type { Health } from './health.js';
import type { Logger, LogTarget } from './log.js';
import { logLevels } from './log-levels.js';
import { opt, type Spec, type Values } from './options.js';

/** Options every component has; the admin port differs per component so all fit in one pod. */
export function commonOptions(adminPort: number) {
  return {
    adminAddress: opt.hostPort({
      default: `0.0.0.0:${adminPort}`,
      description: 'Address of the admin server (/healthz, /readyz, /metrics).',
    }),
    logLevel: opt.enum(logLevels, {
      default: 'info',
      description: "Least severe level of the component's own log lines.",
    }),
    shutdownTimeout: opt.duration({
      default: '10s',
      description: 'After SIGTERM, how long in-flight work may take before the process exits 1.',
    }),
    shutdownDelay: opt.duration({
      default: '0s',
      description:
        'After SIGTERM, how long to keep serving while /readyz reports 503, so endpoints are updated before new work is refused.',
    }),
    terminationLog: opt.file({
      default: '/dev/termination-log',
      description:
        'Where the reason for a failed exit is written, when writable (Kubernetes terminationMessagePath).',
    }),
  };
}

export type CommonSpec = ReturnType<typeof commonOptions>;
export type ComponentOptions<S extends Spec> = Values<S> & Values<CommonSpec>;

export interface ComponentContext {
  readonly name: string;
  readonly version: string;
  readonly log: Logger;
  readonly registry: Registry;
  readonly health: Health;
  /** The admin server, not yet listening: add component routes (e.g. POST /sync) during start(). */
  readonly admin: AdminServer;
  /**
   * Ends the process through the normal drain: `stop(0)` when a one-shot job is done, `stop(1, reason)`
   * when the component cannot go on (e.g. too many consecutive failures).
   */
  stop(exitCode: 0 | 1, reason: string): void;
}

/** Where a one-shot mode writes its output (the process's own streams, or a test's). */
export interface OneShotIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface ComponentHandle {
  /** Stop taking new work, let in-flight work finish, release resources. Bounded by --shutdown-timeout. */
  close(): Promise<void>;
  /** SIGHUP: reload what can be reloaded (certificates, config). Throw to report a refused reload. */
  reload?(): Promise<void>;
}

/**
 * What a component does: its options and how it starts. Its name, summary and admin port are declared
 * once, in its entry in components.ts, which joins them to this when it loads the component.
 */
export interface ComponentDefinition<S extends Spec = Spec> {
  readonly options: S;
  /**
   * Cross-option validation; throw `invalid(...)` from lib/options. `given` holds the options a user
   * set, for rules about an option given without another (its default alone is no mistake).
   */
  check?(options: ComponentOptions<S>, given: ReadonlySet<string>): void;
  /**
   * A one-shot mode that replaces the server (an exec probe, a check-and-exit), run after the options
   * are validated. When it resolves with an exit code the process exits with it: no admin server is
   * started (a one-shot run beside the running component must not take its port) and nothing is
   * logged. Resolving with undefined starts the component as usual. Throw ConfigError for bad input.
   * `given` holds the options a user set, as for check().
   */
  oneShot?(
    options: ComponentOptions<S>,
    io: OneShotIo,
    given: ReadonlySet<string>,
  ): Promise<number | undefined>;
  /**
   * Bind listeners and begin background work, then return promptly: long waits (first sync, a
   * database) belong behind readiness conditions, not here. Throw ConfigError for bad input found here
   * (an unreadable certificate), anything else for a runtime failure.
   */
  start(options: ComponentOptions<S>, ctx: ComponentContext): Promise<ComponentHandle>;
}

/** A component as the lifecycle runs it (components.ts `loadComponent`, or a test's fixture). */
export interface Component<S extends Spec = Spec> extends ComponentDefinition<S> {
  readonly name: string;
  /** One line for `podkit --help`. */
  readonly summary: string;
  readonly adminPort: number;
  /**
   * Where its own log lines go: stdout (the default), or stderr when stdout carries what the component
   * produces (log-normalizer's records), so the two never mix.
   */
  readonly logTo?: LogTarget;
}

export function defineComponent<S extends Spec>(definition: ComponentDefinition<S>): ComponentDefinition<S> {
  return definition;
}

export function fullSpec<S extends Spec>(component: Component<S>): S & CommonSpec {
  return { ...component.options, ...commonOptions(component.adminPort) };
}
