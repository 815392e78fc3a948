/**
 * A stand-in for the StatefulSet controller. There are no pods in the fake, so after each create or spec
 * change it declares every replica ready, `delayMs` later, through the status subresource: code waiting
 * for readiness sees the same sequence of status writes a real cluster produces, only without pods.
 */

import { createHash } from 'node:crypto';
import type { ResourceType } from './resources.js';
import type { Store } from './store.js';
import type { StoredObject } from './types.js';

function revisionName(sts: StoredObject): string {
  const hash = createHash('sha256').update(
    JSON.stringify((sts.spec as { template?: unknown })?.template ?? {}),
  );
  return `${sts.metadata.name}-${hash.digest('hex').slice(0, 10)}`;
}

/** Starts the controller; returns its stop function (clears pending timers). */
export function startStatefulSetController(store: Store, delayMs: number): () => void {
  const timers = new Map<string, NodeJS.Timeout>();
  const schedule = (rt: ResourceType, namespace: string | undefined, name: string) => {
    const key = `${namespace}/${name}`;
    clearTimeout(timers.get(key));
    const timer = setTimeout(() => {
      timers.delete(key);
      const sts = store.find(rt, namespace, name);
      if (!sts) return;
      const replicas = Number((sts.spec as { replicas?: number } | undefined)?.replicas ?? 1);
      const revision = revisionName(sts);
      const status = {
        observedGeneration: sts.metadata.generation,
        replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        currentRevision: revision,
        updateRevision: revision,
        collisionCount: 0,
      };
      store.update(rt, namespace, name, { ...sts, status }, 'status');
    }, delayMs);
    timers.set(key, timer);
  };
  const unsubscribe = store.subscribe((event) => {
    if (event.rt.kind !== 'StatefulSet') return;
    const { namespace, name, generation } = event.object.metadata;
    if (event.type === 'DELETED') {
      clearTimeout(timers.get(`${namespace}/${name}`));
      timers.delete(`${namespace}/${name}`);
    } else if (event.type === 'ADDED' || generation !== event.prev?.metadata.generation) {
      schedule(event.rt, namespace, name);
    }
  });
  return () => {
    unsubscribe();
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
  };
}
