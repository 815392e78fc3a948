/**
 * The source the options ask for. Problems found here (no Kubernetes credentials) are configuration
 * errors: the container cannot do anything useful until its spec changes. Each source's module is loaded
 * only when chosen: the Kubernetes client alone costs a dir or http sidecar a noticeable start-up time.
 */

import type { ComponentOptions } from '../../../lib/component.js';
import { ConfigError, describeError } from '../../../lib/errors.js';
import type { HttpClient } from '../../../lib/http-client.js';
import type { Logger } from '../../../lib/log.js';
import type { ConfigSyncSpec } from './options.js';
import type { Source } from './source.js';

type Options = ComponentOptions<ConfigSyncSpec>;

const loopback = new Set(['localhost', '127.0.0.1', '[::1]']);

export async function createSource(
  o: Options,
  log: Logger,
  client: HttpClient,
): Promise<{ source: Source; description: string }> {
  if (o.source === 'dir') {
    const { DirSource } = await import('./source-dir.js');
    const source = new DirSource(o.sourceDir as string, o.pollInterval);
    return { source, description: `directory ${o.sourceDir}` };
  }
  if (o.source === 'http') {
    const url = o.url as URL;
    if (o.token.isSet && url.protocol === 'http:' && !loopback.has(url.hostname)) {
      log.warn({ url: url.origin }, 'the bearer token is sent over plain HTTP: use an https:// --url');
    }
    const { HttpSource } = await import('./source-http.js');
    const source = new HttpSource({
      url,
      httpKey: o.httpKey,
      token: o.token,
      client,
      pollIntervalMs: o.pollInterval,
      requestTimeoutMs: o.requestTimeout,
    });
    return { source, description: source.description };
  }
  const { kubeAccess } = await import('../../../lib/kube.js');
  const { KubernetesSource } = await import('./source-kubernetes.js');
  let access: ReturnType<typeof kubeAccess>;
  try {
    access = kubeAccess(o);
  } catch (err) {
    throw new ConfigError('kubeconfig', describeError(err));
  }
  const { kc, namespace } = access;
  const source = new KubernetesSource({
    kc,
    namespace,
    configmap: o.configmap,
    selector: o.selector,
    includeSecrets: o.includeSecrets,
    folderAnnotation: o.folderAnnotation,
    targetDir: o.targetDir,
    resyncIntervalMs: o.resyncInterval,
  });
  return { source, description: source.description };
}
