/**
 * The three patch types the API server takes on built-in resources. JSON merge patch (RFC 7386) and
 * JSON patch (RFC 6902) are exact. Strategic merge patch is approximated: it is a merge patch, except that
 * lists whose real patch strategy is "merge" are merged by their key (containers, ports, env, volumes,
 * conditions ... see `mergeKeys`), primitive lists under `finalizers` are unioned, and the `$patch: delete`
 * / `$patch: replace` directives work on list items and maps. Other directives (`$retainKeys`,
 * `$setElementOrder`, `$deleteFromPrimitiveList`) are dropped without effect.
 */

import jsonPatch, { type Operation } from 'fast-json-patch';
import { badRequest, StatusError, unsupportedMediaType } from './status.js';
import { isRecord, type KubeObject } from './types.js';

export const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
  'application/strategic-merge-patch+json',
] as const;

/** RFC 7386: objects merge recursively, null deletes, everything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** List fields merged by key in strategic merge patch, and the key. `ports` depends on the item shape. */
const mergeKeys: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
};

const primitiveMergeLists = new Set(['finalizers']);

function mergeKeyFor(field: string, items: readonly unknown[]): string | undefined {
  if (field === 'ports')
    return items.some((item) => isRecord(item) && 'containerPort' in item) ? 'containerPort' : 'port';
  return mergeKeys[field];
}

function strategicList(field: string, target: unknown, patch: unknown[]): unknown[] {
  const replace = patch.some((item) => isRecord(item) && item.$patch === 'replace');
  if (replace) return patch.filter((item) => !(isRecord(item) && item.$patch === 'replace'));
  const current = Array.isArray(target) ? target : [];
  if (primitiveMergeLists.has(field)) return [...new Set([...current, ...patch])];
  const key = mergeKeyFor(field, [...current, ...patch]);
  if (!key) return patch.map((item) => strategicMerge(undefined, item));
  const result = [...current];
  for (const item of patch) {
    if (!isRecord(item)) continue;
    const index = result.findIndex((existing) => isRecord(existing) && existing[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMerge(result[index], item);
    } else {
      result.push(strategicMerge(undefined, item));
    }
  }
  return result;
}

/** The approximation of strategic merge patch described at the top of this file. */
export function strategicMerge(target: unknown, patch: unknown, field = ''): unknown {
  if (Array.isArray(patch)) return strategicList(field, target, patch);
  if (!isRecord(patch)) return patch;
  if (patch.$patch === 'delete') return undefined;
  const base = patch.$patch === 'replace' ? {} : isRecord(target) ? { ...target } : {};
  const result: Record<string, unknown> = base;
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const merged = strategicMerge(result[key], value, key);
    if (merged === undefined) delete result[key];
    else result[key] = merged;
  }
  return result;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw badRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

/** Applies a patch body of the given media type; the caller validates the result like an update. */
export function applyPatch(current: KubeObject, contentType: string, body: string): KubeObject {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/merge-patch+json') {
    const patch = parseJson(body);
    if (!isRecord(patch))
      throw badRequest('json: cannot unmarshal non-object into Go value of type map[string]interface {}');
    return mergePatch(current, patch) as KubeObject;
  }
  if (type === 'application/strategic-merge-patch+json') {
    const patch = parseJson(body);
    if (!isRecord(patch))
      throw badRequest('json: cannot unmarshal non-object into Go value of type map[string]interface {}');
    return strategicMerge(current, patch) as KubeObject;
  }
  if (type === 'application/json-patch+json') {
    const operations = parseJson(body);
    if (!Array.isArray(operations))
      throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
    try {
      return jsonPatch.applyPatch(structuredClone(current), operations as Operation[], true).newDocument;
    } catch (err) {
      // The real server answers 422 for operations that fail against the object (a failed `test`, a
      // missing path), and the same for malformed operations it can only detect while applying.
      throw new StatusError(422, 'Invalid', (err as Error).message.split('\n')[0]);
    }
  }
  if (type === 'application/apply-patch+yaml') {
    throw unsupportedMediaType(patchTypes.filter((t) => t !== 'application/apply-patch+yaml'));
  }
  throw unsupportedMediaType(patchTypes);
}
