/**
 * The fake's etcd plus registry: objects, one global revision that every write bumps (like etcd's), and
 * the retained event history that watches and consistent lists are served from. Writes made here, from
 * the HTTP handlers or from a test, are the same writes: they reach every watcher.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { apiVersionOf, namespacesType, type ResourceType, resourceTypes } from './resources.js';
import type { Matcher } from './selectors.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  fieldRequired,
  internalError,
  invalid,
  modifiedConflict,
  namespaceNotFound,
  notFound,
  preconditionFailed,
  StatusError,
  tooLargeResourceVersion,
} from './status.js';
import {
  applyDefaults,
  generationChanged,
  prepareForCreate,
  prepareForUpdate,
  validate,
} from './strategy.js';
import { type EventType, isRecord, type KubeObject, type StoredObject, sameJson } from './types.js';

export interface StoreEvent {
  revision: number;
  type: EventType;
  rt: ResourceType;
  /** The object after the write; for DELETED its last content stamped with the deletion's revision. */
  object: StoredObject;
  /** The object before the write (MODIFIED, DELETED). */
  prev?: StoredObject;
}

export type Listener = (event: StoreEvent) => void;

export interface ListOptions {
  resourceVersion?: string;
  resourceVersionMatch?: string;
  limit?: number;
  continue?: string;
  /** The real server reports remainingItemCount only for lists without selectors. */
  countRemaining?: boolean;
}

export interface ListResult {
  items: StoredObject[];
  revision: number;
  continue?: string;
  remainingItemCount?: number;
}

export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

const continueTooOld =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list ' +
  'without the continue parameter, or use the continue token in this response to retrieve the remainder of ' +
  'the results. Continuing with the provided token results in an inconsistent list - objects that were ' +
  'created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

const protectedNamespaces = ['default', 'kube-system', 'kube-public'];

function keyOf(rt: ResourceType, namespace: string | undefined, name: string): string {
  return `${rt.group}/${rt.resource}/${namespace ?? ''}/${name}`;
}

/** `namespace/name`, the order etcd returns keys in, and what continue tokens point into. */
function sortKey(obj: StoredObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

function now(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

/** generateName suffixes use the same alphabet as the real server (no vowels, no confusable digits). */
function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function parseRevision(text: string, what = 'resourceVersion'): number {
  if (!/^\d+$/.test(text)) throw badRequest(`invalid ${what}: ${JSON.stringify(text)}`);
  return Number(text);
}

export class Store {
  #revision = 0;
  readonly #objects = new Map<string, StoredObject>();
  #history: StoreEvent[] = [];
  /** A watch or exact list from any revision at or after this one can be served from history. */
  #oldestServable = 0;
  readonly #listeners = new Set<Listener>();
  readonly #clusterIPs = new Set<string>();
  #nextIP = 11;

  constructor(readonly historyLimit = 1000) {
    for (const name of ['default', 'kube-system'])
      this.create(namespacesType, undefined, { metadata: { name } });
  }

  get revision(): number {
    return this.#revision;
  }

  get oldestServable(): number {
    return this.#oldestServable;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Forgets all history, as an etcd compaction does: only the current revision can be watched from. */
  compact(): void {
    this.#history = [];
    this.#oldestServable = this.#revision;
  }

  find(rt: ResourceType, namespace: string | undefined, name: string): StoredObject | undefined {
    const found = this.#objects.get(keyOf(rt, rt.namespaced ? namespace : undefined, name));
    return found && structuredClone(found);
  }

  get(rt: ResourceType, namespace: string | undefined, name: string): StoredObject {
    const found = this.find(rt, namespace, name);
    if (!found) throw notFound(rt, name);
    return found;
  }

  /** Events after `revision`, or 410 when history no longer reaches back that far. */
  eventsAfter(revision: number): StoreEvent[] {
    if (revision < this.#oldestServable) {
      throw expired(`too old resource version: ${revision} (${this.#oldestServable + 1})`);
    }
    if (revision > this.#revision) throw tooLargeResourceVersion(revision, this.#revision);
    return this.#history.filter((event) => event.revision > revision);
  }

  list(
    rt: ResourceType,
    namespace: string | undefined,
    matches: Matcher,
    options: ListOptions = {},
  ): ListResult {
    const { revision, start } = this.#listPoint(options);
    const items = this.#objectsAt(rt, revision)
      .filter((obj) => (namespace === undefined || obj.metadata.namespace === namespace) && matches(obj))
      .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1))
      .filter((obj) => start === undefined || sortKey(obj) >= start);
    const limit = options.limit && options.limit > 0 ? options.limit : items.length;
    const page = items.slice(0, limit).map((obj) => structuredClone(obj));
    if (page.length === items.length) return { items: page, revision };
    const last = sortKey(page[page.length - 1]);
    const token = Buffer.from(
      JSON.stringify({ v: 'meta.k8s.io/v1', rv: revision, start: `${last}\u0000` }),
    ).toString('base64');
    return {
      items: page,
      revision,
      continue: token,
      ...(options.countRemaining ? { remainingItemCount: items.length - page.length } : {}),
    };
  }

  /** Which revision a list reads, following the resourceVersion / resourceVersionMatch / continue rules. */
  #listPoint(options: ListOptions): { revision: number; start?: string } {
    const { resourceVersion: rv, resourceVersionMatch: match } = options;
    if (options.continue) {
      if (rv !== undefined && rv !== '')
        throw badRequest('specifying resource version is not allowed when using continue');
      let token: { rv?: unknown; start?: unknown };
      try {
        token = JSON.parse(Buffer.from(options.continue, 'base64').toString('utf8'));
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      if (typeof token.rv !== 'number' || typeof token.start !== 'string')
        throw badRequest('continue key is not valid');
      if (token.rv < this.#oldestServable) throw expired(continueTooOld);
      return { revision: token.rv, start: token.start };
    }
    if (match !== undefined && match !== '') {
      if (rv === undefined || rv === '')
        throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
      if (match !== 'Exact' && match !== 'NotOlderThan') {
        throw badRequest(
          `resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
        );
      }
    }
    if (rv === undefined || rv === '' || rv === '0') return { revision: this.#revision };
    const requested = parseRevision(rv);
    if (requested > this.#revision) throw tooLargeResourceVersion(requested, this.#revision);
    if (match !== 'Exact') return { revision: this.#revision };
    if (requested < this.#oldestServable)
      throw expired('The resourceVersion for the provided list is too old.');
    return { revision: requested };
  }

  /** The objects of one type as they were at `revision`, rebuilt by undoing later events. */
  #objectsAt(rt: ResourceType, revision: number): StoredObject[] {
    const prefix = `${rt.group}/${rt.resource}/`;
    const state = new Map([...this.#objects].filter(([key]) => key.startsWith(prefix)));
    for (let i = this.#history.length - 1; i >= 0 && this.#history[i].revision > revision; i--) {
      const event = this.#history[i];
      if (event.rt !== rt) continue;
      const key = keyOf(rt, event.object.metadata.namespace, event.object.metadata.name);
      if (event.prev) state.set(key, event.prev);
      else state.delete(key);
    }
    return [...state.values()];
  }

  create(rt: ResourceType, namespace: string | undefined, body: KubeObject): StoredObject {
    const obj = this.#decode(rt, namespace, body);
    const metadata = obj.metadata ?? {};
    if (metadata.resourceVersion)
      throw internalError('resourceVersion should not be set on objects to be created');
    if (rt.namespaced && !this.#objects.has(keyOf(namespacesType, undefined, String(namespace)))) {
      throw namespaceNotFound(String(namespace));
    }
    const generated =
      !metadata.name && typeof metadata.generateName === 'string' && metadata.generateName !== '';
    if (!metadata.name && !generated) {
      throw invalid(rt, '', [fieldRequired('metadata.name', 'name or generateName is required')]);
    }
    for (let attempt = 0; generated; attempt++) {
      metadata.name = `${metadata.generateName}${randomSuffix()}`;
      if (!this.#objects.has(keyOf(rt, namespace, metadata.name)) || attempt >= 7) break;
    }
    applyDefaults(rt, obj);
    validate(rt, obj);
    const name = String(metadata.name);
    if (this.#objects.has(keyOf(rt, namespace, name))) throw alreadyExists(rt, name);
    prepareForCreate(rt, obj, { allocateClusterIP: (requested) => this.#allocateIP(requested) });
    for (const field of [
      'uid',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'selfLink',
      'managedFields',
    ]) {
      delete metadata[field];
    }
    metadata.uid = randomUUID();
    metadata.creationTimestamp = now();
    if (rt.generation) metadata.generation = 1;
    else delete metadata.generation;
    return this.#commit(rt, 'ADDED', obj as StoredObject);
  }

  update(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    subresource?: 'status',
  ): StoredObject {
    const old = this.get(rt, namespace, name);
    const obj = this.#decode(rt, namespace, body);
    const metadata = obj.metadata ?? {};
    if (metadata.name !== name) {
      throw badRequest(
        `the name of the object (${metadata.name ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    if (metadata.resourceVersion && metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(rt, name, modifiedConflict);
    }
    if (metadata.uid && metadata.uid !== old.metadata.uid) {
      throw preconditionFailed(
        rt,
        name,
        `UID in precondition: ${metadata.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    let next: KubeObject;
    if (subresource === 'status') {
      // A status write changes only .status; metadata and spec come from the stored object.
      next = { ...structuredClone(old), status: obj.status };
    } else {
      next = obj;
      applyDefaults(rt, next);
      prepareForUpdate(rt, next, old);
      for (const field of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
      ]) {
        if (old.metadata[field] === undefined) delete metadata[field];
        else metadata[field] = old.metadata[field];
      }
      if (generationChanged(rt, next, old)) metadata.generation = (old.metadata.generation ?? 0) + 1;
      validate(rt, next, old);
    }
    const stored = next as StoredObject;
    stored.metadata.resourceVersion = old.metadata.resourceVersion;
    if (old.metadata.deletionTimestamp && !stored.metadata.finalizers?.length) {
      return this.#commit(rt, 'DELETED', stored, old);
    }
    // A write that changes nothing is not a write: same resourceVersion, no watch event.
    if (sameJson(stored, old)) return old;
    return this.#commit(rt, 'MODIFIED', stored, old);
  }

  /**
   * Deletes, or only marks for deletion while finalizers remain (the object then goes away when an update
   * empties them). Deleting a namespace deletes its contents at once (no Terminating phase in the fake).
   */
  delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    preconditions: Preconditions = {},
  ): { object: StoredObject; deleted: boolean } {
    const old = this.get(rt, namespace, name);
    if (rt === namespacesType && protectedNamespaces.includes(name)) {
      throw new StatusError(
        403,
        'Forbidden',
        `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        {
          name,
          kind: 'namespaces',
        },
      );
    }
    if (preconditions.uid && preconditions.uid !== old.metadata.uid) {
      throw preconditionFailed(
        rt,
        name,
        `UID in precondition: ${preconditions.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    if (preconditions.resourceVersion && preconditions.resourceVersion !== old.metadata.resourceVersion) {
      throw preconditionFailed(
        rt,
        name,
        `ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    if (old.metadata.finalizers?.length) {
      if (old.metadata.deletionTimestamp) return { object: old, deleted: false };
      const marked = structuredClone(old);
      marked.metadata.deletionTimestamp = now();
      marked.metadata.deletionGracePeriodSeconds = 0;
      return { object: this.#commit(rt, 'MODIFIED', marked, old), deleted: false };
    }
    if (rt === namespacesType) {
      for (const [key, obj] of [...this.#objects]) {
        const contentType = resourceTypes.find((t) => key.startsWith(`${t.group}/${t.resource}/`));
        if (contentType?.namespaced && obj.metadata.namespace === name)
          this.#commit(contentType, 'DELETED', structuredClone(obj), obj);
      }
    }
    return { object: this.#commit(rt, 'DELETED', structuredClone(old), old), deleted: true };
  }

  /** Checks the body's type and namespace against the URL and returns a private copy. */
  #decode(rt: ResourceType, namespace: string | undefined, body: KubeObject): KubeObject {
    if (!isRecord(body)) throw badRequest('the object provided is not a JSON object');
    const obj = structuredClone(body);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(rt)) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(rt)})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw badRequest(
        `the object provided is unrecognized (must be of type ${rt.kind}): kind ${JSON.stringify(obj.kind)}`,
      );
    }
    if (obj.metadata !== undefined && !isRecord(obj.metadata))
      throw badRequest('metadata: must be an object');
    const metadata = obj.metadata ?? {};
    if (rt.namespaced) {
      if (metadata.namespace && metadata.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      metadata.namespace = namespace;
    } else {
      delete metadata.namespace;
    }
    // The real server's field order: kind, apiVersion, metadata, then the rest.
    const { kind: _kind, apiVersion: _apiVersion, metadata: _metadata, ...rest } = obj;
    return { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata, ...rest };
  }

  #commit(rt: ResourceType, type: EventType, obj: StoredObject, prev?: StoredObject): StoredObject {
    this.#revision += 1;
    obj.metadata.resourceVersion = String(this.#revision);
    const key = keyOf(rt, obj.metadata.namespace, obj.metadata.name);
    if (type === 'DELETED') {
      this.#objects.delete(key);
      const ip = (obj.spec as { clusterIP?: unknown } | undefined)?.clusterIP;
      if (rt.kind === 'Service' && typeof ip === 'string') this.#clusterIPs.delete(ip);
    } else {
      this.#objects.set(key, obj);
    }
    const event: StoreEvent = { revision: this.#revision, type, rt, object: obj, ...(prev ? { prev } : {}) };
    this.#history.push(event);
    while (this.#history.length > this.historyLimit) {
      this.#oldestServable = (this.#history.shift() as StoreEvent).revision;
    }
    for (const listener of [...this.#listeners]) listener(event);
    return structuredClone(obj);
  }

  #allocateIP(requested?: string): string | undefined {
    if (requested) {
      if (this.#clusterIPs.has(requested)) return undefined;
      this.#clusterIPs.add(requested);
      return requested;
    }
    for (;;) {
      const n = this.#nextIP++;
      const ip = `10.96.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
      if (!this.#clusterIPs.has(ip)) {
        this.#clusterIPs.add(ip);
        return ip;
      }
    }
  }
}
