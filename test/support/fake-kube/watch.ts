/**
 * One watch stream, served the way the apiserver's watch cache serves it: HTTP 200, one JSON event per
 * line; history replay from a resourceVersion; errors after the 200 as a single ERROR event that ends the
 * stream (410 for a compacted version); selector transitions as ADDED/DELETED; periodic bookmarks.
 */

import type { ServerResponse } from 'node:http';
import { apiVersionOf, type ResourceType } from './resources.js';
import type { Matcher } from './selectors.js';
import { StatusError } from './status.js';
import type { Store, StoreEvent } from './store.js';
import type { KubeObject, StoredObject } from './types.js';

export interface WatchParams {
  /** Undefined or "0": start with synthetic ADDED events for the current state. */
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  /** WatchList: initial state, then a bookmark annotated `k8s.io/initial-events-end`. */
  sendInitialEvents: boolean;
}

export interface WatchSettings {
  bookmarkIntervalMs: number;
  maxWatchSeconds?: number;
}

type WireType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export class WatchStream {
  readonly #timers: NodeJS.Timeout[] = [];
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly store: Store,
    private readonly rt: ResourceType,
    private readonly namespace: string | undefined,
    private readonly matches: Matcher,
    private readonly onClose: (stream: WatchStream) => void,
  ) {}

  /** Sends the head, the initial or replayed events, then follows the store until ended. */
  start(params: WatchParams, settings: WatchSettings): void {
    const { res, store, rt, namespace, matches } = this;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    res.on('close', () => this.#cleanup());
    const rv = params.resourceVersion;
    if (rv === undefined || rv === '' || rv === '0' || params.sendInitialEvents) {
      const { items } = store.list(rt, namespace, matches);
      for (const obj of items) this.#send('ADDED', obj);
      if (params.sendInitialEvents) this.#sendBookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      try {
        for (const event of store.eventsAfter(Number(rv))) this.#deliver(event);
      } catch (err) {
        if (!(err instanceof StatusError)) throw err;
        this.#send('ERROR', err.toStatus());
        this.end();
        return;
      }
    }
    this.#unsubscribe = store.subscribe((event) => this.#deliver(event));
    if (params.allowBookmarks) {
      this.#timers.push(setInterval(() => this.#sendBookmark(), settings.bookmarkIntervalMs));
    }
    const limits = [params.timeoutSeconds, settings.maxWatchSeconds].filter(
      (s): s is number => s !== undefined && s > 0,
    );
    if (limits.length > 0) this.#timers.push(setTimeout(() => this.end(), Math.min(...limits) * 1000));
  }

  /** Ends the stream cleanly, as a server-side timeout does: the client sees a normal end of body. */
  end(): void {
    this.#cleanup();
    if (!this.res.writableEnded) this.res.end();
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#unsubscribe?.();
    this.onClose(this);
  }

  /** Translates a store event for this watcher's scope and selectors, as the watch cache does. */
  #deliver(event: StoreEvent): void {
    if (event.rt !== this.rt) return;
    if (this.namespace !== undefined && event.object.metadata.namespace !== this.namespace) return;
    const matchesNow = event.type !== 'DELETED' && this.matches(event.object);
    const matchedBefore = event.prev !== undefined && this.matches(event.prev);
    if (matchesNow) this.#send(matchedBefore ? 'MODIFIED' : 'ADDED', event.object);
    else if (matchedBefore) this.#send('DELETED', withRevision(event.prev as StoredObject, event.revision));
  }

  #sendBookmark(annotations?: Record<string, string>): void {
    const metadata = {
      resourceVersion: String(this.store.revision),
      ...(annotations ? { annotations } : {}),
    };
    this.#send('BOOKMARK', { kind: this.rt.kind, apiVersion: apiVersionOf(this.rt), metadata });
  }

  #send(type: WireType, object: KubeObject | object): void {
    if (this.#closed || this.res.writableEnded) return;
    this.res.write(`${JSON.stringify({ type, object })}\n`);
  }
}

/** A DELETED event carries the last content the watcher saw, stamped with the deleting write's revision. */
function withRevision(obj: StoredObject, revision: number): StoredObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}
