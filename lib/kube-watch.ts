/**
 * watchResources: the reflector behind every podkit watch (see lib/kube.ts for why it looks like this).
 * One loop per watch: list, stream from the list's resourceVersion, and decide after each stream what
 * comes next -- resume, re-list, or back off -- so there is exactly one place that issues requests.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { type KubeConfig, type KubernetesObject, type RequestContext, Watch } from '@kubernetes/client-node';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import { Backoff } from './backoff.js';
import { describeError, ErrorCode, PodkitError } from './errors.js';
import { KubeApiError, listAll } from './kube-request.js';
import { freshBearer } from './kube-token.js';

export interface WatchTarget {
  /** `v1`, `apps/v1`, `discovery.k8s.io/v1` ... */
  apiVersion: string;
  /** The plural resource name, as in the URL: `configmaps`, `endpointslices`. */
  resource: string;
  /** Omitted: all namespaces (or a cluster-scoped resource). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * onSnapshot and onChange calls never overlap and arrive in order: a returned promise is awaited before
 * the next call. onError is called as failures happen.
 */
export interface WatchHandlers<T> {
  /** The complete current set, after the first list and after every re-list (410, resync). */
  onSnapshot(items: T[]): void | Promise<void>;
  onChange(type: ChangeType, obj: T): void | Promise<void>;
  /** Failures the watch recovers from by itself (it keeps retrying), and errors thrown by handlers. */
  onError?(err: Error): void;
}

export interface WatchOptions {
  /** Full re-list period, so a missed event can never freeze the view. Default 5 min. */
  resyncIntervalMs?: number;
  /** Restart a stream that delivered nothing (no event, no bookmark) for this long. Default 2 min. */
  idleTimeoutMs?: number;
  /** Retry delays after errors: exponential with jitter from `initial` up to `max`. Default 500 ms, 30 s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Server-side stream length before a clean resume; jittered up to twice this. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** Items per list page. Default 500. */
  pageSize?: number;
}

export interface ResourceWatch {
  /** Aborts requests, streams and timers; resolves when no handler is running and none will be called. */
  stop(): Promise<void>;
  /** The last resourceVersion seen, from a list, an event or a bookmark. */
  readonly resourceVersion: string | undefined;
}

/** The REST path of a collection. */
export function collectionPath(target: Pick<WatchTarget, 'apiVersion' | 'resource' | 'namespace'>): string {
  const base = target.apiVersion.includes('/') ? `/apis/${target.apiVersion}` : `/api/${target.apiVersion}`;
  const scope = target.namespace ? `/namespaces/${encodeURIComponent(target.namespace)}` : '';
  return `${base}${scope}/${target.resource}`;
}

export function watchResources<T extends KubernetesObject>(
  kc: KubeConfig,
  target: WatchTarget,
  handlers: WatchHandlers<T>,
  options: WatchOptions = {},
): ResourceWatch {
  return new Reflector<T>(kc, target, handlers, options);
}

/** How one watch stream ended. `quiet`: cleanly, but without delivering anything. */
type Outcome = 'ended' | 'quiet' | 'expired' | 'idle' | 'resync' | 'stopped';

/** An error after which the state must be re-listed (an ERROR event other than 410). */
class RelistError extends KubeApiError {}

class Reflector<T extends KubernetesObject> implements ResourceWatch {
  #resourceVersion: string | undefined;
  #stopped = false;
  readonly #stopping = new AbortController();
  /** Ends the current stream attempt, if one is open. */
  #cancelStream: (() => void) | undefined;
  #delivery: Promise<void> = Promise.resolve();
  readonly #running: Promise<void>;
  readonly #backoff: Backoff;
  readonly #path: string;

  constructor(
    private readonly kc: KubeConfig,
    private readonly target: WatchTarget,
    private readonly handlers: WatchHandlers<T>,
    private readonly options: WatchOptions,
  ) {
    this.#path = collectionPath(target);
    this.#backoff = new Backoff({
      initialMs: options.backoffInitialMs ?? 500,
      maxMs: options.backoffMaxMs ?? 30_000,
    });
    this.#running = this.#run();
  }

  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#stopping.abort();
      this.#cancelStream?.();
    }
    await this.#running;
    await this.#delivery;
  }

  async #run(): Promise<void> {
    const resyncMs = this.options.resyncIntervalMs ?? 300_000;
    let listedAt = 0;
    let mustList = true;
    while (!this.#stopped) {
      try {
        if (mustList || Date.now() - listedAt >= resyncMs) {
          const list = await listAll<T>(this.kc, this.#path, this.#selectors(), {
            pageSize: this.options.pageSize,
            signal: this.#stopping.signal,
          });
          this.#resourceVersion = list.resourceVersion;
          listedAt = Date.now();
          mustList = false;
          this.#deliver(() => this.handlers.onSnapshot(list.items));
        }
        const outcome = await this.#watchOnce(listedAt + resyncMs - Date.now());
        if (outcome === 'expired' || outcome === 'resync') mustList = true;
        // A server that ends streams at once must not turn the resume loop into a busy loop.
        else if (outcome === 'quiet') await this.#pause();
      } catch (err) {
        if (this.#stopped) break;
        if (err instanceof RelistError) mustList = true;
        this.#report(err);
        await this.#pause();
      }
    }
  }

  #selectors(): { labelSelector?: string; fieldSelector?: string } {
    return { labelSelector: this.target.labelSelector, fieldSelector: this.target.fieldSelector };
  }

  async #pause(): Promise<void> {
    await sleep(this.#backoff.next(), undefined, { signal: this.#stopping.signal }).catch(() => {});
  }

  /** Runs handler calls one after another, in arrival order; stops calling once stopped. */
  #deliver(call: () => void | Promise<void>): void {
    this.#delivery = this.#delivery.then(async () => {
      if (this.#stopped) return;
      try {
        await call();
      } catch (err) {
        this.#report(err);
      }
    });
  }

  #report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    try {
      this.handlers.onError?.(error);
    } catch {
      // An onError that throws must not kill the watch it reports on.
    }
  }

  /** One stream from the current resourceVersion, until it ends, expires, idles out or is due a resync. */
  #watchOnce(resyncInMs: number): Promise<Outcome> {
    if (this.#stopped) return Promise.resolve('stopped');
    return new Promise((resolve, reject) => {
      let settled = false;
      let delivered = 0;
      let expired = false;
      let failure: Error | undefined;
      let stream: AbortController | undefined;
      let request: Dispatcher.DispatchController | undefined;
      const onStart = (controller: Dispatcher.DispatchController) => {
        request = controller;
        if (settled) controller.abort(new Error('watch ended'));
      };
      let idleTimer: NodeJS.Timeout | undefined;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(idleTimer);
        clearTimeout(resyncTimer);
        this.#cancelStream = undefined;
        stream?.abort();
        // The request's own controller also cuts a request still waiting for response headers, which
        // the Watch's AbortController cannot reach yet.
        request?.abort(new Error('watch ended'));
        settle();
      };
      const armIdle = () => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => finish(() => resolve('idle')), this.options.idleTimeoutMs ?? 120_000);
      };
      const resyncTimer = setTimeout(() => finish(() => resolve('resync')), Math.max(0, resyncInMs));
      armIdle();
      this.#cancelStream = () => finish(() => resolve('stopped'));

      const onEvent = (
        type: string,
        obj: KubernetesObject & { code?: number; reason?: string; message?: string },
      ) => {
        if (settled) return;
        armIdle();
        delivered += 1;
        if (type === 'ERROR') {
          if (obj?.code === 410) expired = true;
          else
            failure = new RelistError(
              obj?.code ?? 0,
              obj?.reason,
              `watch ${this.#path}: ${obj?.message ?? 'ERROR event'}`,
            );
          return;
        }
        // A stream that delivers is the success that resets the backoff (a list alone is not: a watch
        // failing right after every good list must still slow down).
        this.#backoff.reset();
        const version = obj?.metadata?.resourceVersion;
        if (version) this.#resourceVersion = version;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
          this.#deliver(() => this.handlers.onChange(type, obj as T));
        }
      };
      const onDone = (err: unknown) =>
        finish(() => {
          const statusCode = (err as { statusCode?: number } | null)?.statusCode;
          if (expired || statusCode === 410) resolve('expired');
          else if (failure) reject(failure);
          else if (err) reject(this.#streamError(err, statusCode));
          else resolve(delivered > 0 ? 'ended' : 'quiet');
        });

      // Watch reads only these two members of its KubeConfig; wrapping them adds a fresh token and
      // hands us the request's controller.
      const config = {
        getCurrentCluster: () => this.kc.getCurrentCluster(),
        applySecurityAuthentication: async (ctx: RequestContext) => {
          await this.kc.applySecurityAuthentication(ctx);
          const bearer = await freshBearer(this.kc);
          if (bearer) ctx.setHeaderParam('Authorization', bearer);
          // The dispatcher is shared (cached per cluster and user): the request is cut through its
          // own controller, never by destroying the dispatcher.
          const shared = ctx.getDispatcher() ?? getGlobalDispatcher();
          ctx.setDispatcher(
            shared.compose((dispatch) => (options, handler) => dispatch(options, cuttable(handler, onStart))),
          );
        },
      } as unknown as KubeConfig;
      const query = {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.round((this.options.watchTimeoutSeconds ?? 300) * (1 + Math.random())),
        ...this.#selectors(),
      };
      new Watch(config).watch(this.#path, query, onEvent, onDone).then(
        (controller) => {
          stream = controller;
          if (settled) controller.abort();
        },
        (err: unknown) => finish(() => reject(this.#streamError(err, undefined))),
      );
    });
  }

  #streamError(err: unknown, statusCode: number | undefined): Error {
    if (statusCode) {
      return new KubeApiError(
        statusCode,
        undefined,
        `watch ${this.#path}: HTTP ${statusCode} ${describeError(err)}`,
      );
    }
    return new PodkitError(ErrorCode.KUBE_API, `watch ${this.#path}: ${describeError(err)}`, { cause: err });
  }
}

/** `handler` as is, except that its request's controller is also given to `onStart`. */
function cuttable(
  handler: Dispatcher.DispatchHandler,
  onStart: (controller: Dispatcher.DispatchController) => void,
): Dispatcher.DispatchHandler {
  const wrapped: Dispatcher.DispatchHandler = {
    onRequestStart(controller, context) {
      onStart(controller);
      handler.onRequestStart?.(controller, context);
    },
  };
  for (const name of [
    'onRequestUpgrade',
    'onResponseStart',
    'onResponseData',
    'onResponseEnd',
    'onResponseError',
  ] as const) {
    const method = handler[name];
    if (method) (wrapped as Record<string, unknown>)[name] = method.bind(handler);
  }
  return wrapped;
}
