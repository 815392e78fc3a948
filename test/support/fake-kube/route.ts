/** The REST path of a request, taken apart: which resource, namespace, object and subresource. */

import { type ResourceType, resourceByPath } from './resources.js';

export interface Route {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

/** Undefined when the path names nothing the fake serves. */
export function parseRoute(path: string): Route | undefined {
  let segments: string[];
  try {
    segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  let group: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    group = '';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1];
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  const versionName = segments[0] === 'api' ? segments[1] : segments[2];
  const namespacedType =
    rest[0] === 'namespaces' && rest.length >= 3 ? resourceByPath(group, versionName, rest[2]) : undefined;
  let route: Route;
  let tail: string[];
  if (namespacedType?.namespaced) {
    route = { rt: namespacedType, namespace: rest[1], name: rest[3] };
    tail = rest.slice(4);
  } else {
    const rt = resourceByPath(group, versionName, rest[0]);
    if (!rt || (rt.namespaced && rest.length > 1)) return undefined;
    route = { rt, name: rest[1] };
    tail = rest.slice(2);
  }
  if (tail.length > 1) return undefined;
  if (tail.length === 1) {
    if (tail[0] !== 'status' || !route.rt.statusSubresource) return undefined;
    route.subresource = 'status';
  }
  return route;
}
