/**
 * config-sync in the played pod, against the fake kube-apiserver (pod-kube.ts): a change to the app's
 * ConfigMap reaches the app's emptyDir and config-sync sends SIGHUP through the pod's shared PID
 * namespace (the same app process, now with the new greeting over HTTPS); a config the app refuses is
 * rolled back after --health-timeout (the app never stops serving the last good one; config-sync's log
 * names the rollback and its /readyz the generation restored).
 */

import type { Test } from 'tap';
import type { FakeKube } from '../support/fake-kube/index.js';
import { podman } from '../support/images.js';
import { waitFor } from '../support/wait.js';
import { kubeNamespace } from './pod-kube.js';
import { runProbes } from './pod-probes.js';

export interface ConfigSyncContext {
  kube: FakeKube;
  /** The ConfigMap config-sync watches (the chart's `<fullname>-config`). */
  configMap: string;
  container: (name: string) => string;
  https: (method: string, path: string) => Promise<{ status: number; body: string }>;
  /** The app's records on log-normalizer's stdout. */
  appLog: () => Promise<Record<string, unknown>[]>;
}

const greetingOf = (conf: string) => /^greeting = (.*)$/m.exec(conf)?.[1];

export async function configSyncTests(t: Test, context: ConfigSyncContext): Promise<void> {
  const { kube, container } = context;
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: context.configMap, namespace: kubeNamespace };
  const stored = kube.get(ref) as { data?: Record<string, string> } | undefined;
  const first = String(stored?.data?.['app.conf']);
  const setConf = (conf: string) => kube.patch(ref, { data: { 'app.conf': conf } }, 'merge');
  const appState = async () => {
    const [state] = JSON.parse(await podman(['inspect', container('app')])) as {
      State: { Pid: number };
      RestartCount: number;
    }[];
    return { pid: state?.State.Pid, restarts: state?.RestartCount };
  };
  const greeting = async () => (await context.https('GET', '/')).body;
  const withLogs = async (err: unknown): Promise<never> => {
    const logs = await podman(['logs', container('config-sync')]).catch((e: Error) => e.message);
    throw new Error(`${(err as Error).message}\n--- config-sync\n${logs}`);
  };
  t.equal(await greeting(), `${greetingOf(first)}\n`, "the app serves the ConfigMap's greeting");
  const before = await appState();

  const changed = first.replace(/^greeting = .*$/m, 'greeting = Hello after a ConfigMap change');
  setConf(changed);
  await waitFor(async () => (await greeting()) === 'Hello after a ConfigMap change\n', {
    timeoutMs: 60_000,
    intervalMs: 500,
    what: 'the new greeting over HTTPS',
  }).catch(withLogs);
  t.same(await appState(), before, 'the same app process reloaded it (no restart)');
  await waitFor(
    async () => (await context.appLog()).some((r) => /config reloaded: generation 2/.test(String(r.msg))),
    { timeoutMs: 30_000, what: "the app's reload line (it got SIGHUP)" },
  );
  t.pass("the app's info.log says it reloaded on SIGHUP");

  // An unknown key: the app refuses the file on SIGHUP and keeps its running config; its /health turns
  // 503 and config-sync puts the previous version back after --health-timeout.
  setConf(`${changed.replace(/^greeting = .*$/m, 'greeting = Never served')}no_such_key = 1\n`);
  const records = async () =>
    (await podman(['logs', container('config-sync')]))
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  let rollback: Record<string, unknown> | undefined;
  const served = new Set<string>();
  await waitFor(
    async () => {
      served.add(await greeting());
      rollback = (await records()).find((r) => r.code === 'PODKIT_ERR_ROLLBACK');
      return rollback !== undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1_000, what: "config-sync's rollback" },
  ).catch(withLogs);
  t.match(
    rollback,
    { generation: 3, restored: 2, health: /HTTP 503 .*unknown key/ },
    'config-sync logs the rollback of generation 3 to 2, with what the app answered',
  );
  t.same([...served], ['Hello after a ConfigMap change\n'], 'the app kept serving the last good config');
  const readyz = { container: 'config-sync', kind: 'readinessProbe' as const, path: '/readyz', port: 9402 };
  const [detail] = await runProbes(container('tls-proxy'), [readyz]);
  t.match(
    { status: detail?.status, body: JSON.parse(detail?.body ?? '{}') },
    { status: 200, body: { checks: { config: { ok: true, detail: { generation: 2 } } } } },
    "config-sync's /readyz: ready on generation 2",
  );
  await waitFor(
    async () =>
      (
        await runProbes(container('tls-proxy'), [
          { ...readyz, container: 'app', path: '/health', port: 8080 },
        ])
      )[0]?.status === 200,
    { timeoutMs: 60_000, what: 'the app healthy again on the restored version' },
  );
  t.equal(await greeting(), 'Hello after a ConfigMap change\n', 'and still serving it');
  t.same(await appState(), before, 'still the same process');
}
