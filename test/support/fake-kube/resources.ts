/**
 * The resource table: what the fake serves, how each resource is named, validated and discovered. The
 * discovery documents are what KubernetesObjectApi reads to map a kind to its plural resource name.
 */

import type { KubeObject } from './types.js';

/** Which name rule the real server applies (apimachinery validation). */
export type NameRule = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label';

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, as in the URL. */
  resource: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  /** Only `status` exists in the fake. */
  statusSubresource: boolean;
  nameRule: NameRule;
  /** metadata.generation is maintained (bumped on spec changes) for these. */
  generation: boolean;
  /** Field selectors the real server accepts beyond metadata.name and metadata.namespace. */
  fields: Readonly<Record<string, (obj: KubeObject) => string>>;
}

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function field(path: string): (obj: KubeObject) => string {
  const keys = path.split('.');
  return (obj) => {
    let value: unknown = obj;
    for (const key of keys) value = (value as Record<string, unknown> | undefined)?.[key];
    return value === undefined || value === null ? '' : String(value);
  };
}

const eventFields = Object.fromEntries([
  ...['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((key) => [
    `involvedObject.${key}`,
    field(`involvedObject.${key}`),
  ]),
  ['reason', field('reason')],
  ['reportingComponent', field('reportingComponent')],
  ['source', field('source.component')],
  ['type', field('type')],
]);

function core(resource: string, kind: string, extra: Partial<ResourceType> = {}): ResourceType {
  return {
    group: '',
    version: 'v1',
    resource,
    singularName: kind.toLowerCase(),
    kind,
    namespaced: true,
    statusSubresource: false,
    nameRule: 'dns1123-subdomain',
    generation: false,
    fields: {},
    ...extra,
  };
}

export const resourceTypes: readonly ResourceType[] = [
  core('configmaps', 'ConfigMap', { shortNames: ['cm'] }),
  core('secrets', 'Secret', { fields: { type: field('type') } }),
  core('services', 'Service', { shortNames: ['svc'], nameRule: 'dns1035-label' }),
  core('events', 'Event', { shortNames: ['ev'], fields: eventFields }),
  core('namespaces', 'Namespace', {
    shortNames: ['ns'],
    namespaced: false,
    nameRule: 'dns1123-label',
    fields: { 'status.phase': field('status.phase') },
  }),
  core('endpointslices', 'EndpointSlice', { group: 'discovery.k8s.io', generation: true }),
  core('statefulsets', 'StatefulSet', {
    group: 'apps',
    shortNames: ['sts'],
    statusSubresource: true,
    generation: true,
  }),
  core('leases', 'Lease', { group: 'coordination.k8s.io' }),
];

export const namespacesType = resourceTypes.find((rt) => rt.resource === 'namespaces') as ResourceType;

export function apiVersionOf(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** By URL parts: group ('' for core), version, plural. */
export function resourceByPath(group: string, version: string, resource: string): ResourceType | undefined {
  return resourceTypes.find((rt) => rt.group === group && rt.version === version && rt.resource === resource);
}

/** By apiVersion and either the kind (`ConfigMap`) or the plural resource (`configmaps`). */
export function resourceByType(apiVersion: string, kindOrResource: string): ResourceType | undefined {
  return resourceTypes.find(
    (rt) => apiVersionOf(rt) === apiVersion && (rt.kind === kindOrResource || rt.resource === kindOrResource),
  );
}

function groupVersions(): Map<string, ResourceType[]> {
  const groups = new Map<string, ResourceType[]>();
  for (const rt of resourceTypes) {
    const key = apiVersionOf(rt);
    groups.set(key, [...(groups.get(key) ?? []), rt]);
  }
  return groups;
}

function apiResourceList(groupVersion: string, types: readonly ResourceType[]): KubeObject {
  const resources = types.flatMap((rt) => [
    {
      name: rt.resource,
      singularName: rt.singularName,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs,
      ...(rt.shortNames ? { shortNames: rt.shortNames } : {}),
    },
    ...(rt.statusSubresource
      ? [
          {
            name: `${rt.resource}/status`,
            singularName: '',
            namespaced: rt.namespaced,
            kind: rt.kind,
            verbs: ['get', 'patch', 'update'],
          },
        ]
      : []),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}

function apiGroup(name: string): KubeObject {
  const version = { groupVersion: `${name}/v1`, version: 'v1' };
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: [version], preferredVersion: version };
}

/** The discovery document for a path, or undefined when the path is not a discovery path. */
export function discoveryDocument(path: string, serverAddress: string): KubeObject | undefined {
  const groups = groupVersions();
  if (path === '/api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }
  if (path === '/apis') {
    const names = [...groups.keys()].filter((gv) => gv.includes('/')).map((gv) => gv.split('/')[0]);
    const list = names.map((name) => {
      const { kind: _kind, apiVersion: _apiVersion, ...group } = apiGroup(name);
      return group;
    });
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: list };
  }
  if (path === '/api/v1') return apiResourceList('v1', groups.get('v1') ?? []);
  const match = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (!match) return undefined;
  const [, group, version] = match;
  if (version === undefined) return groups.has(`${group}/v1`) ? apiGroup(group) : undefined;
  const types = groups.get(`${group}/${version}`);
  return types ? apiResourceList(`${group}/${version}`, types) : undefined;
}
