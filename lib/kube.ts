/**
 * The Kubernetes client mechanics every component shares: finding credentials, and watching a set of
 * objects so that the consumer's view can never silently go stale. A watch here is the reflector pattern
 * of client-go: list, watch from the list's resourceVersion, resume from the last seen version when a
 * stream ends, re-list on 410, back off on errors, and two safety nets a long-lived sidecar needs -- a
 * periodic full re-list, and a watchdog for streams that stay open but deliver nothing (the failure mode
 * of kiwigrid/k8s-sidecar issue #85: a watch that died silently left the sidecar's files stale).
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describeError, ErrorCode, PodkitError } from './errors.js';

export { KubeApiError } from './kube-request.js';
export {
  type ChangeType,
  collectionPath,
  type ResourceWatch,
  type WatchHandlers,
  type WatchOptions,
  type WatchTarget,
  watchResources,
} from './kube-watch.js';

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where credentials came from: a kubeconfig (--kubeconfig or $KUBECONFIG), or the pod's service account. */
export type CredentialSource = 'kubeconfig' | 'in-cluster';

export interface KubeAccess {
  kc: KubeConfig;
  source: CredentialSource;
  /** The namespace meant when none is given (resolveNamespace). */
  namespace: string;
}

export interface KubeLocation {
  /** Prefixes the service account path: a test's fake pod root. */
  inClusterRoot?: string | undefined;
}

let defaultInClusterRoot = '';

/** For a test that runs a component as if in a pod whose files are under `root`. */
export function setInClusterRoot(root: string): void {
  defaultInClusterRoot = root;
}

/**
 * Credentials and namespace from the Kubernetes access options (lib/option-groups/kube.ts), for the
 * components that call the API.
 */
export function kubeAccess(
  options: { kubeconfig?: string | undefined; namespace?: string | undefined },
  location: KubeLocation = {},
): KubeAccess {
  const { kc, source } = loadKubeCredentials(options.kubeconfig, location);
  return { kc, source, namespace: resolveNamespace(options.namespace, kc, source, location) };
}

/**
 * The one rule for the namespace a component works in: an explicit --namespace; else, with credentials
 * from a kubeconfig, its current context's namespace (as kubectl does); else, in a pod, the service
 * account's namespace file (the pod's own); else `default`.
 */
export function resolveNamespace(
  explicit: string | undefined,
  kc: KubeConfig,
  source: CredentialSource,
  location: KubeLocation = {},
): string {
  if (explicit) return explicit;
  if (source === 'kubeconfig') return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
  const root = location.inClusterRoot ?? defaultInClusterRoot;
  try {
    return readFileSync(join(`${root}${serviceAccountDir}`, 'namespace'), 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

/**
 * A KubeConfig from, in order: an explicit kubeconfig path, $KUBECONFIG, or the pod's service account
 * when running in a cluster. Never falls back silently (client-node's loadFromDefault would try
 * localhost:8080).
 */
function loadKubeCredentials(
  path: string | undefined,
  location: KubeLocation,
): { kc: KubeConfig; source: CredentialSource } {
  const kc = new KubeConfig();
  const root = location.inClusterRoot ?? defaultInClusterRoot;
  let source: CredentialSource;
  let where: string;
  try {
    if (path) {
      source = 'kubeconfig';
      where = `kubeconfig ${path}`;
      kc.loadFromFile(path);
    } else if (process.env.KUBECONFIG) {
      source = 'kubeconfig';
      where = `KUBECONFIG=${process.env.KUBECONFIG}`;
      kc.loadFromDefault();
    } else if (process.env.KUBERNETES_SERVICE_HOST) {
      source = 'in-cluster';
      where = 'the in-cluster service account';
      const token = join(`${root}${serviceAccountDir}`, 'token');
      if (!existsSync(token)) {
        throw new PodkitError(
          ErrorCode.KUBE_API,
          `running in a cluster (KUBERNETES_SERVICE_HOST is set) but there is no service account token at ${token}: ` +
            'enable automountServiceAccountToken for the pod, or give a kubeconfig',
        );
      }
      kc.loadFromCluster(root);
    } else {
      throw new PodkitError(
        ErrorCode.KUBE_API,
        'no Kubernetes credentials: give a kubeconfig path, set KUBECONFIG, or run in a pod with a service account',
      );
    }
  } catch (err) {
    if (err instanceof PodkitError) throw err;
    throw new PodkitError(ErrorCode.KUBE_API, `cannot load Kubernetes credentials: ${describeError(err)}`, {
      cause: err,
    });
  }
  if (!kc.getCurrentCluster()) {
    throw new PodkitError(ErrorCode.KUBE_API, `${where} has no current context with a cluster`);
  }
  return { kc, source };
}
