/**
 * The Kubernetes client mechanics every component shares: finding credentials, and watching a set of
 * objects so that the consumer's view can never silently go stale. A watch here is the reflector pattern
 * of client-go: list, watch from the list's resourceVersion, resume from the last seen version when a
 * stream ends, re-list on 410, back off on errors, and two safety nets a long-lived sidecar needs -- a
 * periodic full re-list, and a watchdog for streams that stay open but deliver nothing (the failure mode
 * of kiwigrid/k8s-sidecar issue #85: a watch that died silently left the sidecar's files stale).
 */

import { existsSync } from 'node:fs';
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

/**
 * A KubeConfig from, in order: an explicit kubeconfig path, $KUBECONFIG, or the pod's service account
 * when running in a cluster. Never falls back silently (client-node's loadFromDefault would try
 * localhost:8080). `inClusterRoot` prefixes the service account path, for tests.
 */
export function loadKubeConfig(path?: string, options: { inClusterRoot?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  const root = options.inClusterRoot ?? '';
  let source: string;
  try {
    if (path) {
      source = `kubeconfig ${path}`;
      kc.loadFromFile(path);
    } else if (process.env.KUBECONFIG) {
      source = `KUBECONFIG=${process.env.KUBECONFIG}`;
      kc.loadFromDefault();
    } else if (process.env.KUBERNETES_SERVICE_HOST) {
      source = 'the in-cluster service account';
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
    throw new PodkitError(ErrorCode.KUBE_API, `${source} has no current context with a cluster`);
  }
  return kc;
}
