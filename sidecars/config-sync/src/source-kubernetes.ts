/**
 * The kubernetes source: ConfigMaps (and optionally Secrets) chosen by name or label selector, followed
 * with lib/kube's watch (resume by resourceVersion, re-list on 410, periodic re-list, idle watchdog), and
 * merged into one snapshot whenever any of them changes.
 */

import type { KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, PodkitError } from '../../../lib/errors.js';
import { collectionPath, type ResourceWatch, type WatchTarget, watchResources } from '../../../lib/kube.js';
import { listAll } from '../../../lib/kube-request.js';
import { type ConfigObject, mergeObjects } from './merge.js';
import type { Snapshot } from './snapshot.js';
import type { Source, SourceEvents } from './source.js';

export interface KubernetesSourceOptions {
  kc: KubeConfig;
  namespace: string;
  /** One ConfigMap by name, or every one matching `selector`. */
  configmap?: string | undefined;
  selector?: string | undefined;
  includeSecrets: boolean;
  folderAnnotation?: string | undefined;
  targetDir: string;
  resyncIntervalMs: number;
}

type Resource = 'configmaps' | 'secrets';

export class KubernetesSource implements Source {
  readonly #options: KubernetesSourceOptions;
  readonly #targets: Map<Resource, WatchTarget>;
  /** The objects each watch currently sees, by name; absent until its first list arrived. */
  readonly #seen = new Map<Resource, Map<string, ConfigObject>>();
  readonly #watches: ResourceWatch[] = [];
  #events: SourceEvents | undefined;

  constructor(options: KubernetesSourceOptions) {
    this.#options = options;
    const selectors = options.configmap
      ? { fieldSelector: `metadata.name=${options.configmap}` }
      : { labelSelector: options.selector };
    const target = (resource: Resource): WatchTarget => ({
      apiVersion: 'v1',
      resource,
      namespace: options.namespace,
      ...selectors,
    });
    this.#targets = new Map([['configmaps', target('configmaps')]]);
    if (options.includeSecrets) this.#targets.set('secrets', target('secrets'));
  }

  /** What is being synced, for logs. */
  get description(): string {
    const { namespace, configmap, selector, includeSecrets } = this.#options;
    const what = configmap
      ? `ConfigMap ${namespace}/${configmap}`
      : `ConfigMaps in ${namespace} matching ${selector}`;
    return includeSecrets ? `${what} (and Secrets alike)` : what;
  }

  async read(): Promise<Snapshot> {
    const objects: ConfigObject[] = [];
    for (const target of this.#targets.values()) {
      const list = await listAll<ConfigObject>(this.#options.kc, collectionPath(target), {
        labelSelector: target.labelSelector,
        fieldSelector: target.fieldSelector,
      });
      objects.push(...list.items);
    }
    return this.#merge(objects);
  }

  async start(events: SourceEvents): Promise<void> {
    this.#events = events;
    for (const [resource, target] of this.#targets) {
      const watch = watchResources<ConfigObject>(
        this.#options.kc,
        target,
        {
          onSnapshot: (items) => {
            this.#seen.set(resource, new Map(items.map((item) => [String(item.metadata?.name), item])));
            this.#emit();
          },
          onChange: (type, obj) => {
            const seen = this.#seen.get(resource) ?? new Map<string, ConfigObject>();
            this.#seen.set(resource, seen);
            if (type === 'DELETED') seen.delete(String(obj.metadata?.name));
            else seen.set(String(obj.metadata?.name), obj);
            this.#emit();
          },
          onError: (err) => events.error(err),
        },
        { resyncIntervalMs: this.#options.resyncIntervalMs },
      );
      this.#watches.push(watch);
    }
  }

  refresh(): void {
    this.#emit();
  }

  async close(): Promise<void> {
    await Promise.all(this.#watches.map((watch) => watch.stop()));
  }

  /** Emits the merged view once every watched resource has been listed (never a half view). */
  #emit(): void {
    const events = this.#events;
    if (!events || this.#seen.size < this.#targets.size) return;
    const objects = [...this.#seen.values()].flatMap((seen) => [...seen.values()]);
    try {
      events.snapshot(this.#merge(objects));
    } catch (err) {
      events.error(err as Error);
    }
  }

  #merge(objects: ConfigObject[]): Snapshot {
    const { configmap, namespace } = this.#options;
    if (configmap && !objects.some((obj) => obj.kind !== 'Secret')) {
      // A named ConfigMap that does not exist is an error, not an empty configuration to publish.
      throw new PodkitError(ErrorCode.SOURCE, `ConfigMap ${namespace}/${configmap} not found`);
    }
    return mergeObjects(objects, {
      folderAnnotation: this.#options.folderAnnotation,
      targetDir: this.#options.targetDir,
    });
  }
}
