/**
 * ConfigMaps and Secrets -> one snapshot. Many objects (a label selector) merge into one directory; an
 * object's files go into a subfolder when it carries the folder annotation. The merge is deterministic so
 * every replica and every re-list publishes the same bytes: ConfigMaps before Secrets, each by name, and
 * the first object to claim a path keeps it (the others' claims are refused and reported).
 */

import { isAbsolute, relative } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Refusal, Snapshot } from './snapshot.js';

export interface ConfigObject extends KubernetesObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export interface MergeOptions {
  /** Annotation naming an object's subfolder. */
  folderAnnotation?: string | undefined;
  /** An absolute folder annotation inside this directory is taken relative to it (k8s-sidecar style). */
  targetDir: string;
}

/** An object's own files: ConfigMap `data` (text) and `binaryData` (base64); Secret `data` (base64). */
export function objectFiles(obj: ConfigObject): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  if (obj.kind === 'Secret') {
    for (const [key, value] of Object.entries(obj.data ?? {})) files.set(key, Buffer.from(value, 'base64'));
    return files;
  }
  for (const [key, value] of Object.entries(obj.data ?? {})) files.set(key, Buffer.from(value, 'utf8'));
  for (const [key, value] of Object.entries(obj.binaryData ?? {}))
    files.set(key, Buffer.from(value, 'base64'));
  return files;
}

function describe(obj: KubernetesObject): string {
  return `${obj.kind ?? 'object'} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** The subfolder an object's files go to ('' for the top). Unusable annotations come back as refusals. */
function folderOf(obj: KubernetesObject, options: MergeOptions): { folder: string } | { refused: string } {
  const value = options.folderAnnotation ? obj.metadata?.annotations?.[options.folderAnnotation] : undefined;
  if (value === undefined || value.trim() === '') return { folder: '' };
  let folder = value.trim().replace(/\/+$/, '');
  if (isAbsolute(folder)) {
    const inside = relative(options.targetDir, folder);
    if (inside === '') return { folder: '' };
    if (inside.startsWith('..') || isAbsolute(inside)) {
      return { refused: `folder annotation ${JSON.stringify(value)} is outside --target-dir` };
    }
    folder = inside;
  }
  return { folder };
}

const kindOrder = (obj: KubernetesObject) => (obj.kind === 'Secret' ? 1 : 0);

/** Code-point order, not locale order: the same on every machine. */
function byName(a: KubernetesObject, b: KubernetesObject): number {
  const x = String(a.metadata?.name);
  const y = String(b.metadata?.name);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function mergeObjects(objects: readonly ConfigObject[], options: MergeOptions): Snapshot {
  const sorted = [...objects].sort((a, b) => kindOrder(a) - kindOrder(b) || byName(a, b));
  const files = new Map<string, Buffer>();
  const owner = new Map<string, string>();
  const refused: Refusal[] = [];
  for (const obj of sorted) {
    const place = folderOf(obj, options);
    for (const [key, data] of objectFiles(obj)) {
      if ('refused' in place) {
        refused.push({ key: `${describe(obj)}: ${key}`, reason: place.refused, kind: 'unsafe' });
        continue;
      }
      const path = place.folder ? `${place.folder}/${key}` : key;
      const winner = owner.get(path);
      if (winner !== undefined) {
        refused.push({ key: path, reason: `${describe(obj)} also has it; ${winner} wins`, kind: 'conflict' });
        continue;
      }
      owner.set(path, describe(obj));
      files.set(path, data);
    }
  }
  return { files, refused };
}
