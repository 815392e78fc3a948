/**
 * Per-resource behaviour, after the apiserver's registry "strategies": defaults filled on create, fields
 * the server owns on update, and the validation that turns bad objects into 422. Only rules that code in
 * this project could plausibly trip over are modelled; each is listed in the fake's README section of
 * index.ts.
 */

import type { ResourceType } from './resources.js';
import {
  badRequest,
  fieldForbidden,
  fieldInvalid,
  fieldRequired,
  invalid,
  type StatusCause,
} from './status.js';
import { isRecord, type KubeObject, type StoredObject, sameJson as same } from './types.js';
import { labelProblems, nameProblems } from './validation.js';

/** The server-wide state strategies need (the Service IP allocator). */
export interface StrategyContext {
  allocateClusterIP(requested?: string): string | undefined;
}

const maxDataBytes = 1024 * 1024;
const dataKey = /^[-._a-zA-Z0-9]+$/;

function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function without<T extends Record<string, unknown>>(obj: T, ...keys: string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...obj };
  for (const key of keys) delete copy[key];
  return copy;
}

/**
 * Defaults the real server fills on decode, so they apply to every write: an update that omits a defaulted
 * field does not count as changing it.
 */
export function applyDefaults(rt: ResourceType, obj: KubeObject): void {
  switch (rt.kind) {
    case 'Secret':
      foldStringData(obj);
      break;
    case 'Service': {
      const spec = record(obj.spec);
      obj.spec = spec;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
      if (Array.isArray(spec.ports)) {
        spec.ports = spec.ports.map((port) => {
          const p = record(port);
          return { ...p, protocol: p.protocol ?? 'TCP', targetPort: p.targetPort ?? p.port };
        });
      }
      break;
    }
    case 'StatefulSet': {
      const spec = record(obj.spec);
      obj.spec = spec;
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
      spec.revisionHistoryLimit ??= 10;
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      break;
    }
    case 'EndpointSlice':
      // Not omitempty in the Go type: a slice without endpoints reads back as `null`, which consumers must handle.
      obj.endpoints ??= null;
      break;
    case 'Namespace': {
      const metadata = obj.metadata ?? {};
      obj.metadata = metadata;
      metadata.labels = { ...metadata.labels, 'kubernetes.io/metadata.name': String(metadata.name) };
      break;
    }
  }
}

/** Server-owned fields of a new object: status, the Service IP. */
export function prepareForCreate(rt: ResourceType, obj: KubeObject, ctx: StrategyContext): void {
  switch (rt.kind) {
    case 'Secret':
      obj.type ??= 'Opaque';
      break;
    case 'Service': {
      const spec = record(obj.spec);
      if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None') {
        const requested = typeof spec.clusterIP === 'string' && spec.clusterIP ? spec.clusterIP : undefined;
        const ip = ctx.allocateClusterIP(requested);
        if (!ip) {
          throw invalid(rt, String(obj.metadata?.name), [
            fieldInvalid(
              'spec.clusterIPs',
              [requested],
              'failed to allocate IP: provided IP is already allocated',
            ),
          ]);
        }
        spec.clusterIP = ip;
      }
      if (spec.clusterIP !== undefined) {
        spec.clusterIPs = [spec.clusterIP];
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
      }
      obj.status = { loadBalancer: {} };
      break;
    }
    case 'StatefulSet':
      obj.status = { replicas: 0, availableReplicas: 0 };
      break;
    case 'Namespace':
      obj.spec = { finalizers: ['kubernetes'], ...record(obj.spec) };
      obj.status = { phase: 'Active' };
      break;
  }
}

/** Carries server-owned fields over from the stored object. */
export function prepareForUpdate(rt: ResourceType, obj: KubeObject, old: StoredObject): void {
  if (rt.statusSubresource || rt.kind === 'Namespace') obj.status = old.status;
  switch (rt.kind) {
    case 'Secret':
      obj.type ??= old.type;
      break;
    case 'Service': {
      const spec = record(obj.spec);
      const oldSpec = record(old.spec);
      // Newer servers keep the allocated IP when an update omits it, instead of failing as "immutable".
      if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = oldSpec.clusterIP;
      spec.clusterIPs ??= oldSpec.clusterIPs;
      spec.ipFamilies ??= oldSpec.ipFamilies;
      spec.ipFamilyPolicy ??= oldSpec.ipFamilyPolicy;
      obj.status ??= old.status;
      break;
    }
  }
}

/** Whether an update changes what metadata.generation counts: the spec, or everything but metadata. */
export function generationChanged(rt: ResourceType, obj: KubeObject, old: KubeObject): boolean {
  if (!rt.generation) return false;
  if (rt.kind === 'EndpointSlice') return !same(without(obj, 'metadata'), without(old, 'metadata'));
  return !same(obj.spec, old.spec);
}

/** `stringData` is write-only: the server folds it into base64 `data` and never stores it. */
function foldStringData(obj: KubeObject): void {
  const stringData = obj.stringData;
  delete obj.stringData;
  if (!isRecord(stringData)) return;
  const data = record(obj.data);
  for (const [key, value] of Object.entries(stringData))
    data[key] = Buffer.from(String(value)).toString('base64');
  obj.data = data;
}

/** Field problems of an object about to be written (`old` on update). Throws 422/400 itself. */
export function validate(rt: ResourceType, obj: KubeObject, old?: StoredObject): void {
  const name = String(obj.metadata?.name ?? '');
  const causes: StatusCause[] = [];
  if (!old) causes.push(...nameProblems(rt.nameRule, name));
  causes.push(...labelProblems(obj.metadata?.labels));
  if (obj.metadata?.annotations !== undefined && !isRecord(obj.metadata.annotations)) {
    causes.push(fieldInvalid('metadata.annotations', obj.metadata.annotations, 'must be a map'));
  }
  switch (rt.kind) {
    case 'ConfigMap':
      causes.push(
        ...dataProblems(obj, ['data', 'binaryData']),
        ...immutableDataProblems(obj, old, ['data', 'binaryData']),
      );
      break;
    case 'Secret':
      causes.push(...dataProblems(obj, ['data']), ...immutableDataProblems(obj, old, ['data']));
      if (old && obj.type !== old.type) causes.push(fieldInvalid('type', obj.type, 'field is immutable'));
      break;
    case 'Service':
      causes.push(...serviceProblems(record(obj.spec), old ? record(old.spec) : undefined));
      break;
    case 'StatefulSet':
      causes.push(...statefulSetProblems(record(obj.spec), old ? record(old.spec) : undefined));
      break;
    case 'EndpointSlice':
      if (!['IPv4', 'IPv6', 'FQDN'].includes(String(obj.addressType))) {
        causes.push(
          obj.addressType === undefined
            ? fieldRequired('addressType')
            : fieldInvalid('addressType', obj.addressType, 'supported values: "FQDN", "IPv4", "IPv6"'),
        );
      }
      for (const [i, endpoint] of (Array.isArray(obj.endpoints) ? obj.endpoints : []).entries()) {
        const addresses = record(endpoint).addresses;
        if (!Array.isArray(addresses) || addresses.length === 0)
          causes.push(fieldRequired(`endpoints[${i}].addresses`, 'must contain at least 1 address'));
      }
      break;
    case 'Lease': {
      const duration = record(obj.spec).leaseDurationSeconds;
      if (duration !== undefined && !(typeof duration === 'number' && duration > 0)) {
        causes.push(fieldInvalid('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
      }
      break;
    }
    case 'Event': {
      const involvedNamespace = record(obj.involvedObject).namespace;
      if (involvedNamespace !== undefined && involvedNamespace !== obj.metadata?.namespace) {
        causes.push(
          fieldInvalid('involvedObject.namespace', involvedNamespace, 'does not match event.namespace'),
        );
      }
      break;
    }
  }
  if (causes.length > 0) throw invalid(rt, name, causes);
}

function dataProblems(obj: KubeObject, fields: string[]): StatusCause[] {
  const causes: StatusCause[] = [];
  let bytes = 0;
  const seen = new Set<string>();
  for (const field of fields) {
    const data = obj[field];
    if (data === undefined || data === null) continue;
    if (!isRecord(data)) {
      throw badRequest(
        `json: cannot unmarshal ${Array.isArray(data) ? 'array' : typeof data} into Go struct field .${field}`,
      );
    }
    for (const [key, value] of Object.entries(data)) {
      if (typeof value !== 'string')
        throw badRequest(
          `json: cannot unmarshal ${typeof value} into Go struct field .${field} of type string`,
        );
      if (!dataKey.test(key) || key.length > 253) {
        causes.push(
          fieldInvalid(
            `${field}`,
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      }
      if (seen.has(key))
        causes.push(fieldInvalid(`${field}[${key}]`, key, 'duplicate of key present in data'));
      seen.add(key);
      if (field === 'binaryData' || obj.kind === 'Secret') {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
          throw badRequest(
            `illegal base64 data at input byte ${Math.max(0, value.search(/[^A-Za-z0-9+/=]/))}`,
          );
        }
        bytes += Buffer.from(value, 'base64').length;
      } else {
        bytes += Buffer.byteLength(value);
      }
    }
  }
  if (bytes > maxDataBytes)
    causes.push({
      reason: 'FieldValueTooLong',
      message: `Too long: must have at most ${maxDataBytes} bytes`,
      field: '',
    });
  return causes;
}

function immutableDataProblems(
  obj: KubeObject,
  old: KubeObject | undefined,
  fields: string[],
): StatusCause[] {
  if (old?.immutable !== true) return [];
  const causes: StatusCause[] = [];
  if (obj.immutable !== true)
    causes.push(fieldForbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const field of fields) {
    if (!same(obj[field] ?? {}, old[field] ?? {}))
      causes.push(fieldForbidden(field, 'field is immutable when `immutable` is set'));
  }
  return causes;
}

function serviceProblems(
  spec: Record<string, unknown>,
  old: Record<string, unknown> | undefined,
): StatusCause[] {
  const causes: StatusCause[] = [];
  if (old && spec.clusterIP !== old.clusterIP)
    causes.push(fieldInvalid('spec.clusterIP', spec.clusterIP, 'field is immutable'));
  const ports = Array.isArray(spec.ports) ? spec.ports.map(record) : [];
  if (ports.length === 0 && spec.clusterIP !== 'None' && spec.type !== 'ExternalName')
    causes.push(fieldRequired('spec.ports'));
  for (const [i, port] of ports.entries()) {
    if (!(Number.isInteger(port.port) && (port.port as number) >= 1 && (port.port as number) <= 65535)) {
      causes.push(fieldInvalid(`spec.ports[${i}].port`, port.port, 'must be between 1 and 65535, inclusive'));
    }
    if (ports.length > 1 && !port.name) causes.push(fieldRequired(`spec.ports[${i}].name`));
  }
  return causes;
}

const mutableStatefulSetFields = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

function statefulSetProblems(
  spec: Record<string, unknown>,
  old: Record<string, unknown> | undefined,
): StatusCause[] {
  const causes: StatusCause[] = [];
  const selector = record(spec.selector);
  if (!isRecord(spec.selector)) causes.push(fieldRequired('spec.selector'));
  const templateLabels = record(record(record(spec.template).metadata).labels);
  const wanted = record(selector.matchLabels);
  if (
    isRecord(spec.selector) &&
    Object.entries(wanted).some(([key, value]) => templateLabels[key] !== value)
  ) {
    causes.push(
      fieldInvalid(
        'spec.template.metadata.labels',
        templateLabels,
        '`selector` does not match template `labels`',
      ),
    );
  }
  if (typeof spec.replicas !== 'number' || spec.replicas < 0) {
    causes.push(fieldInvalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  }
  if (old && !same(without(spec, ...mutableStatefulSetFields), without(old, ...mutableStatefulSetFields))) {
    causes.push(
      fieldForbidden(
        'spec',
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', " +
          "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ),
    );
  }
  return causes;
}
