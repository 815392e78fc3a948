/**
 * A fake kube-apiserver for tests, with the real API's semantics where podkit depends on them (DESIGN.md
 * §4): a global resourceVersion, list + watch with history, 410 on compacted versions, bookmarks, watch
 * streams that end and must be resumed, conflicts, namespaces, RBAC (a Role's rules as an allow-list, or
 * single denials), bearer tokens that rotate, HTTPS, and injected faults.
 *
 *   const kube = await startFakeKube(t);
 *   const kc = kube.kubeConfig();                    // or pass kube.kubeconfigPath to a component
 *   kube.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } });
 *   kube.endWatches();                               // every watch ends as after a server timeout
 *   kube.compact();                                  // older resourceVersions now get 410
 *   startFakeKube(t, { rbac: { rules: documentedRules(readme), namespace: 'default' } }); // see documented-role.ts
 *
 * Approximated (the real server differs, and code must not rely on the difference):
 * - Strategic merge patch is a merge patch that merges known keyed lists by key (see patch.ts); server-side
 *   apply (application/apply-patch+yaml), YAML and protobuf bodies get 415; dryRun gets 400.
 * - No managedFields, no admission webhooks, no garbage collector (ownerReferences do not cascade), no
 *   pods or endpoints controllers (endpoint-slices.ts writes the slices the EndpointSlice controller
 *   would). Deleting a namespace deletes its contents at once (no Terminating).
 * - Validation covers names, labels, ConfigMap/Secret keys, sizes and `immutable`, Service ports and
 *   clusterIP, StatefulSet selector and immutable spec fields, EndpointSlice addressType; not the rest.
 * - Watches and lists are served from one in-memory history shared by all resources (the real watch cache
 *   is per resource); a watch from a future resourceVersion ends with a 504 ERROR event at once instead of
 *   waiting up to 3 s. Bookmarks come every `bookmarkIntervalMs` (the real server: about once a minute).
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { Teardown } from '../process.js';
import { startStatefulSetController } from './controller.js';
import { applyPatch } from './patch.js';
import { Authorizer, type Binding } from './rbac.js';
import { type ResourceType, resourceByType } from './resources.js';
import { objectMatcher } from './selectors.js';
import { ApiServer, type RequestRecord } from './server.js';
import { type Preconditions, Store } from './store.js';
import type { KubeObject, StoredObject } from './types.js';

export type { Binding, PolicyRule } from './rbac.js';
export type { RequestRecord } from './server.js';
export { StatusError } from './status.js';
export type { KubeObject, ObjectMeta, StoredObject } from './types.js';

export interface FakeKubeOptions {
  /** How often watches with allowWatchBookmarks get a BOOKMARK. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  /** Every watch ends cleanly after this long, like the server's request timeout. Default: never. */
  maxWatchSeconds?: number;
  /** Events kept for watch resumption and consistent lists. Default 1000. */
  historyLimit?: number;
  /** When set, requests without `Authorization: Bearer <token>` get 401 (see rotateToken). */
  token?: string;
  /**
   * Allow-list RBAC: only what these rules grant (in `namespace` when given, as a Role bound there)
   * is allowed; everything else gets 403 Forbidden. Default: everything is allowed.
   */
  rbac?: Binding;
  /** Serve HTTPS with this certificate (chain and key, PEM); the kubeconfig then trusts `caPem`. */
  tls?: { chainPem: string; keyPem: string; caPem: string };
  /** When set, StatefulSets report all replicas ready this long after each create or spec change. */
  statefulSetReadyAfterMs?: number;
}

/** Which object: apiVersion plus kind (`ConfigMap`) or plural resource (`configmaps`). */
export interface TypeRef {
  apiVersion: string;
  kind?: string;
  resource?: string;
  namespace?: string;
}

export interface ObjectRef extends TypeRef {
  name: string;
}

export type PatchType = 'merge' | 'strategic' | 'json';

export interface FakeKube {
  /** http://127.0.0.1:<port>, or https:// with `tls`. */
  readonly url: string;
  readonly port: number;
  /** A kubeconfig for this server (skipTLSVerify, bearer token, namespace default) in a temp dir. */
  readonly kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  /** The user RBAC denials name: system:serviceaccount:default:podkit. */
  readonly user: string;
  readonly revision: number;

  // Direct store access: the same writes as through the API (they bump resourceVersion and reach
  // watchers), and the same errors (StatusError with code and reason). They work while stopped.
  /** Takes plain JSON or client-node's typed objects; returns the stored object in the input's type. */
  create<T extends KubernetesObject>(obj: T): T;
  get(ref: ObjectRef): StoredObject | undefined;
  list(ref: TypeRef, selectors?: { labelSelector?: string; fieldSelector?: string }): StoredObject[];
  update(obj: KubernetesObject, options?: { subresource?: 'status' }): StoredObject;
  patch(ref: ObjectRef, patch: unknown, type?: PatchType, options?: { subresource?: 'status' }): StoredObject;
  /** Returns the deleted object (or the object marked for deletion while finalizers remain). */
  delete(ref: ObjectRef, preconditions?: Preconditions): StoredObject;

  /** Ends every open watch stream cleanly, as a server timeout does. */
  endWatches(): void;
  /** Forgets history: older resourceVersions now get 410 Gone / Expired. */
  compact(): void;
  /** The next `count` requests matching get an error Status with that HTTP code. */
  failNext(count: number, status: number, match?: { method?: string; path?: RegExp }): void;
  /** RBAC: `verb` on `resource` (e.g. "configmaps", "statefulsets/status") gets 403; no namespace = all. */
  deny(verb: string, resource: string, namespace?: string): void;
  allow(verb: string, resource: string, namespace?: string): void;
  /** Only `token` is accepted from now on (needs `token`): the old one gets 401, as after a rotation. */
  rotateToken(token: string): void;
  /** The API going away (open connections cut) and coming back on the same port with the same data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  readonly requests: RequestRecord[];
  readonly openWatches: number;
}

const patchMediaTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

function typeOf(ref: TypeRef | KubernetesObject): ResourceType {
  const apiVersion = String(ref.apiVersion ?? '');
  const kindOrResource = String(('resource' in ref && ref.resource) || ref.kind || '');
  const rt = resourceByType(apiVersion, kindOrResource);
  if (!rt) throw new Error(`fake-kube does not serve ${apiVersion} ${kindOrResource}`);
  return rt;
}

export async function startFakeKube(t: Teardown, options: FakeKubeOptions = {}): Promise<FakeKube> {
  const store = new Store(options.historyLimit ?? 1000);
  const user = 'system:serviceaccount:default:podkit';
  const authorizer = new Authorizer(options.rbac);
  const server = new ApiServer(store, {
    token: options.token,
    user,
    authorizer,
    tls: options.tls && { cert: options.tls.chainPem, key: options.tls.keyPem },
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
    maxWatchSeconds: options.maxWatchSeconds,
  });
  const stopController =
    options.statefulSetReadyAfterMs === undefined
      ? () => {}
      : startStatefulSetController(store, options.statefulSetReadyAfterMs);
  const port = await server.listen(0);
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'podkit-fake-kube-'));
  t.teardown(async () => {
    stopController();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'fake',
          cluster: options.tls
            ? { server: url, 'certificate-authority-data': Buffer.from(options.tls.caPem).toString('base64') }
            : { server: url, 'insecure-skip-tls-verify': true },
        },
      ],
      users: [{ name: 'podkit', user: { token: options.token ?? 'fake-kube-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'podkit', namespace: 'default' } }],
      'current-context': 'fake',
    }),
  );

  return {
    url,
    port,
    kubeconfigPath,
    user,
    get revision() {
      return store.revision;
    },
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    },
    create<T extends KubernetesObject>(obj: T) {
      return store.create(typeOf(obj), obj.metadata?.namespace, obj as unknown as KubeObject) as unknown as T;
    },
    get(ref) {
      return store.find(typeOf(ref), ref.namespace, ref.name);
    },
    list(ref, selectors = {}) {
      const rt = typeOf(ref);
      return store.list(rt, ref.namespace, objectMatcher(rt, selectors)).items;
    },
    update(obj, updateOptions = {}) {
      const { namespace, name } = obj.metadata ?? {};
      return store.update(
        typeOf(obj),
        namespace,
        String(name),
        obj as unknown as KubeObject,
        updateOptions.subresource,
      );
    },
    patch(ref, patch, type = 'merge', patchOptions = {}) {
      const rt = typeOf(ref);
      const patched = applyPatch(
        store.get(rt, ref.namespace, ref.name),
        patchMediaTypes[type],
        JSON.stringify(patch),
      );
      return store.update(rt, ref.namespace, ref.name, patched, patchOptions.subresource);
    },
    delete(ref, preconditions) {
      return store.delete(typeOf(ref), ref.namespace, ref.name, preconditions).object;
    },
    endWatches: () => server.endWatches(),
    compact: () => store.compact(),
    failNext: (count, status, match) => server.failNext(count, status, match),
    deny: (verb, resource, namespace) => authorizer.deny(verb, resource, namespace),
    allow: (verb, resource, namespace) => authorizer.allow(verb, resource, namespace),
    rotateToken(token) {
      if (options.token === undefined) throw new Error('rotateToken needs a fake started with a token');
      server.rotateToken(token);
    },
    stop: () => server.close(),
    async start() {
      await server.listen(port);
    },
    requests: server.requests,
    get openWatches() {
      return server.watches.size;
    },
  };
}
