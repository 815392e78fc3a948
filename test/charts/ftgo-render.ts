/**
 * The ftgo chart as its tests read it: every ci/ values file rendered by the real helm, and finders for
 * the objects, pods, containers and environments in a render.
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ftgoPorts, ftgoServices } from '../../examples/ftgo/common/src/services.js';
import { helm, helmTemplate, type Manifest } from '../support/helm.js';
import { repoRoot } from '../support/process.js';

export const chart = join(repoRoot, 'charts/ftgo');
export const library = join(repoRoot, 'charts/podkit');
const ciDir = join(chart, 'ci');

/** The services with a database, by their part name (the Deployment is `ftgo-<part>`), and their ports. */
export const databaseServices: Readonly<Record<string, number>> = Object.fromEntries(
  ftgoServices
    .filter((service) => service !== 'api-gateway')
    .map((service) => [service.replace(/-service$/, ''), ftgoPorts[service]]),
);

/** Every ci/*-values.yaml rendered, by file name. */
export async function renderCiValues(): Promise<Map<string, Manifest[]>> {
  await helm(['dependency', 'build', chart]);
  const rendered = new Map<string, Manifest[]>();
  for (const file of (await readdir(ciDir)).filter((f) => f.endsWith('-values.yaml'))) {
    rendered.set(file, await helmTemplate('ftgo', chart, ['-f', join(ciDir, file)]));
  }
  return rendered;
}

export function find(list: Manifest[], kind: string, name: string): Manifest {
  const found = list.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} rendered`);
  return found;
}

export function podOf(list: Manifest[], kind: string, name: string) {
  return find(list, kind, name).spec.template.spec;
}

export function container(spec: Manifest, name: string): Manifest {
  const found = spec.containers.find((c: Manifest) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

/** What a container's environment holds: its ConfigMaps (envFrom) under its own env. */
export function environment(list: Manifest[], c: Manifest): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? [])
    Object.assign(env, find(list, 'ConfigMap', from.configMapRef.name).data);
  for (const e of c.env ?? [])
    env[e.name] = e.value ?? `<${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}>`;
  return env;
}

export const workloads = (list: Manifest[]) =>
  list.filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet');
