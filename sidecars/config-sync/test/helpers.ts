/**
 * What config-sync's process tests share: starting the sidecar, reading its metrics, writing a source
 * directory the way the kubelet writes a ConfigMap volume, and reading the target as an app would.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentedRules } from '../../../test/support/fake-kube/documented-role.js';
import { type FakeKube, type FakeKubeOptions, startFakeKube } from '../../../test/support/fake-kube/index.js';
import { httpRequest } from '../../../test/support/http.js';
import { repoRoot, type Started, startComponent, type Teardown } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';

export { KubeletVolume } from '../../../test/support/kubelet-volume.js';

export function tempDir(prefix = 'podkit-config-sync-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function startSync(
  t: Teardown,
  args: readonly string[],
  options: { ready?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<Started> {
  return startComponent(t, 'config-sync', args, { timeoutMs: 30_000, ...options });
}

/** The value of one series from /metrics, e.g. metric(url, 'podkit_config_sync_syncs_total', 'result="invalid"'). */
export async function metric(adminUrl: string, name: string, labels = ''): Promise<number> {
  const body = (await httpRequest(`${adminUrl}/metrics`)).body;
  const series = labels ? `${name}{${labels}}` : name;
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no series ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

export function waitForMetric(
  adminUrl: string,
  name: string,
  labels: string,
  test: (value: number) => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  return waitFor(async () => test(await metric(adminUrl, name, labels)), {
    timeoutMs,
    what: `${name}{${labels}}`,
  });
}

export async function readyz(adminUrl: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await httpRequest(`${adminUrl}/readyz`);
  return { status: response.status, body: JSON.parse(response.body) };
}

/** What an app sees: the file at <target>/<key>, or undefined when it does not exist. */
export function readTarget(target: string, key: string): string | undefined {
  try {
    return readFileSync(join(target, key), 'utf8');
  } catch {
    return undefined;
  }
}

/** Waits until <target>/<key> holds `content` (as an app would read it). */
export function waitForFile(target: string, key: string, content: string, timeoutMs = 20_000): Promise<void> {
  return waitFor(() => readTarget(target, key) === content, {
    timeoutMs,
    what: `${key} = ${JSON.stringify(content.slice(0, 60))} (now ${JSON.stringify(readTarget(target, key)?.slice(0, 60))})`,
  });
}

/** The top-level entries of the target directory: name -> link target, or 'dir' / 'file'. */
export async function targetLayout(target: string): Promise<Record<string, string>> {
  const layout: Record<string, string> = {};
  for (const entry of (await readdir(target, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    if (entry.isSymbolicLink()) layout[entry.name] = readlinkSync(join(target, entry.name));
    else layout[entry.name] = entry.isDirectory() ? 'dir' : 'file';
  }
  return layout;
}

/** promtool's verdict on a /metrics body. */
export function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

export function configMap(
  name: string,
  data: Record<string, string>,
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', ...metadata }, data };
}

export const configMapRef = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace: 'default',
  name,
});

/** config-sync following ConfigMaps on the fake API server. */
export const readmePath = join(repoRoot, 'sidecars/config-sync/README.md');

/**
 * The fake API server granting in `default` only what the README's Role grants a config-sync run with
 * `flags`, so the documented RBAC is what every kubernetes-source test runs under.
 */
export function startKubeUnderRole(
  t: Teardown,
  flags: string[] = [],
  options: FakeKubeOptions = {},
): Promise<FakeKube> {
  return startFakeKube(t, {
    ...options,
    rbac: { rules: documentedRules(readmePath, flags), namespace: 'default' },
  });
}

export function kubeArgs(kube: FakeKube, target: string, ...more: string[]): string[] {
  return [
    '--source',
    'kubernetes',
    '--kubeconfig',
    kube.kubeconfigPath,
    '--target-dir',
    target,
    '--debounce',
    '50ms',
    ...more,
  ];
}
