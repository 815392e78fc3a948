/**
 * Helpers for the fake kube-apiserver's own tests: drive it through the real client and record what
 * comes back.
 */

import {
  ApiException,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
  type V1StatefulSet,
  Watch,
} from '@kubernetes/client-node';
import type { Status } from './status.js';

export interface WatchEvent {
  type: string;
  object: KubernetesObject & { code?: number; message?: string; data?: Record<string, string> };
}

/** The HTTP code and Status body of a request that must fail. */
export async function failure(request: Promise<unknown>): Promise<{ code: number; status: Status }> {
  try {
    await request;
  } catch (err) {
    if (err instanceof ApiException) {
      // Responses the OpenAPI spec names (401) come without a body.
      return { code: err.code, status: (typeof err.body === 'string' ? JSON.parse(err.body) : {}) as Status };
    }
    throw err;
  }
  throw new Error('expected the request to fail');
}

/** A Watch that records events and how it ended. */
export async function record(
  kc: KubeConfig,
  path: string,
  query: Record<string, string | boolean | undefined>,
) {
  const events: WatchEvent[] = [];
  let ended: { err: unknown } | undefined;
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type, object) => events.push({ type, object }),
    (err) => {
      ended = { err };
    },
  );
  return {
    events,
    get ended() {
      return ended;
    },
    abort: () => controller.abort(),
    summary: () => events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`),
  };
}

export function configMap(
  name: string,
  labels: Record<string, string> = {},
  data: Record<string, string> = {},
): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels }, data };
}

export function statefulSet(name: string, replicas = 3): V1StatefulSet {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'db', image: 'mariadb:11' }] } },
    },
  };
}
