/**
 * The kubernetes source end to end: the real sidecar process against the fake kube-apiserver (the one
 * fake the project allows), with real watches that end, expire (410), and lose their server.
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { FakeKube } from '../../../test/support/fake-kube/index.js';
import { httpRequest } from '../../../test/support/http.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  configMap,
  configMapRef,
  kubeArgs,
  metric,
  promtool,
  readTarget,
  readyz,
  startKubeUnderRole,
  startSync,
  targetLayout,
  tempDir,
  waitForFile,
} from './helpers.js';

const configMapsPath = '/api/v1/namespaces/default/configmaps';

function lists(kube: FakeKube): number {
  return kube.requests.filter(
    (r) => r.method === 'GET' && r.path === configMapsPath && r.query.watch === undefined,
  ).length;
}

t.test('one ConfigMap by name: the kubelet layout, then every change through the watch', async (t) => {
  const kube = await startKubeUnderRole(t);
  const logo = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff]);
  kube.create({
    ...configMap('app-config', { 'app.conf': 'greeting = one\n', 'settings.json': '{"a":1}' }),
    binaryData: { 'logo.bin': logo.toString('base64') },
  });
  kube.create(configMap('unrelated', { 'other.conf': 'no' }));
  const target = tempDir();
  const sync = await startSync(t, kubeArgs(kube, target, '--configmap', 'app-config'));

  const layout = await targetLayout(target);
  const version = layout['..data'] as string;
  t.match(version, /^\.\.v1-/);
  t.same(layout, {
    '..data': version,
    [version]: 'dir',
    'app.conf': '..data/app.conf',
    'logo.bin': '..data/logo.bin',
    'settings.json': '..data/settings.json',
  });
  t.equal(readTarget(target, 'app.conf'), 'greeting = one\n');
  t.same(readFileSync(join(target, 'logo.bin')), logo, 'binaryData published byte for byte');

  kube.patch(configMapRef('app-config'), { data: { 'app.conf': 'greeting = two\n' } });
  await waitForFile(target, 'app.conf', 'greeting = two\n');
  kube.patch(configMapRef('app-config'), { data: { 'settings.json': null } });
  await waitFor(() => !existsSync(join(target, 'settings.json')), { what: 'settings.json removed' });
  // Gone from the ..data swap on; the sync is counted after it, with its 'published' line.
  await sync.waitForLog((l) => l.msg === 'published' && l.generation === 3);
  t.equal(readTarget(target, 'app.conf'), 'greeting = two\n');

  t.equal(lists(kube), 1, 'changes arrived through the watch, not by listing again');
  t.equal(await metric(sync.adminUrl, 'podkit_config_sync_version'), 3);
  t.equal(await metric(sync.adminUrl, 'podkit_config_sync_publishes_total'), 3);
  t.equal(await metric(sync.adminUrl, 'podkit_config_sync_syncs_total', 'result="published"'), 3);
  const ready = await readyz(sync.adminUrl);
  t.equal(ready.status, 200);
  t.match(ready.body, {
    status: 'ready',
    checks: { config: { ok: true, detail: { generation: 3, source: 'ok' } } },
  });
  const metrics = (await httpRequest(`${sync.adminUrl}/metrics`)).body;
  const lint = await promtool(metrics);
  t.equal(lint.code, 0, `promtool check metrics: ${lint.output}`);
  t.equal(lint.output.trim(), '', 'no lint findings');
});

t.test(
  '--selector merges ConfigMaps and Secrets; folders by annotation; clashes resolved and reported',
  async (t) => {
    const kube = await startKubeUnderRole(t, ['--include-secrets']);
    const labels = { app: 'web' };
    kube.create(configMap('b-config', { 'shared.conf': 'from b', 'b.conf': 'b' }, { labels }));
    kube.create(configMap('a-config', { 'shared.conf': 'from a' }, { labels }));
    kube.create(
      configMap(
        'dashboards',
        { 'x.json': '{"x":1}' },
        { labels, annotations: { 'k8s-sidecar-target-directory': 'dash/team-a' } },
      ),
    );
    kube.create(
      configMap(
        'escape',
        { 'evil.conf': 'no' },
        { labels, annotations: { 'k8s-sidecar-target-directory': '../../tmp' } },
      ),
    );
    kube.create(configMap('db-config', { 'db.conf': 'not selected' }, { labels: { app: 'db' } }));
    kube.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web-secret', namespace: 'default', labels },
      stringData: { 'password.txt': 'hunter2' },
    });
    const target = tempDir();
    const sync = await startSync(
      t,
      kubeArgs(
        kube,
        target,
        '--selector',
        'app=web',
        '--include-secrets',
        '--folder-annotation',
        'k8s-sidecar-target-directory',
      ),
    );

    t.equal(readTarget(target, 'shared.conf'), 'from a', 'a-config sorts first and wins');
    t.equal(readTarget(target, 'b.conf'), 'b');
    t.equal(readTarget(target, 'dash/team-a/x.json'), '{"x":1}');
    t.equal(readTarget(target, 'password.txt'), 'hunter2', 'Secret data decoded');
    t.equal(readTarget(target, 'db.conf'), undefined, 'not selected');
    t.notOk(existsSync(join(target, '..', '..', 'tmp', 'evil.conf')), 'nothing written outside the target');
    const layout = await targetLayout(target);
    t.same(
      Object.keys(layout).filter((name) => !name.startsWith('..')),
      ['b.conf', 'dash', 'password.txt', 'shared.conf'],
    );
    t.equal(layout.dash, '..data/dash');
    t.equal(await metric(sync.adminUrl, 'podkit_config_sync_refused_keys_total', 'reason="conflict"'), 1);
    t.equal(await metric(sync.adminUrl, 'podkit_config_sync_refused_keys_total', 'reason="unsafe"'), 1);
    const refusals = sync.logs.filter((l) => l.code === 'PODKIT_ERR_UNSAFE_KEY');
    t.same(
      refusals.map((l) => [l.key, l.reason]),
      [
        ['shared.conf', 'ConfigMap default/b-config also has it; ConfigMap default/a-config wins'],
        ['../../tmp/evil.conf', 'path traversal (. or .. segment)'],
      ],
    );

    kube.create(configMap('c-config', { 'c.conf': 'c' }, { labels }));
    await waitForFile(target, 'c.conf', 'c');
    kube.delete(configMapRef('b-config'));
    await waitFor(() => readTarget(target, 'b.conf') === undefined, {
      what: 'b.conf gone with its ConfigMap',
    });
    t.equal(readTarget(target, 'shared.conf'), 'from a');
    t.equal(
      sync.logs.filter((l) => l.code === 'PODKIT_ERR_UNSAFE_KEY').length,
      3,
      'a refusal is logged when the set changes, not again on every event',
    );
    t.notOk(JSON.stringify(sync.logs).includes('hunter2'), 'secret values never logged');
  },
);

t.test(
  'a watch that ends is resumed; one that expires (410) is re-listed; changes keep arriving',
  async (t) => {
    const kube = await startKubeUnderRole(t);
    kube.create(configMap('app-config', { 'app.conf': 'v1' }));
    const target = tempDir();
    await startSync(t, kubeArgs(kube, target, '--configmap', 'app-config'));
    t.equal(lists(kube), 1);

    kube.endWatches();
    kube.patch(configMapRef('app-config'), { data: { 'app.conf': 'v2 after the watch ended' } });
    await waitForFile(target, 'app.conf', 'v2 after the watch ended');
    t.equal(lists(kube), 1, 'resumed from its resourceVersion, no re-list');

    // The resume asks for a version from before this write, and history no longer has it: 410.
    await waitFor(() => kube.openWatches === 1, { what: 'the watch resumed' });
    kube.endWatches();
    kube.patch(configMapRef('app-config'), { data: { 'app.conf': 'v3 after 410' } });
    kube.compact();
    await waitForFile(target, 'app.conf', 'v3 after 410');
    t.equal(lists(kube), 2, 'the expired watch was followed by one fresh list');
  },
);

t.test('the periodic re-list confirms the live content, so a dead watch cannot go unnoticed', async (t) => {
  const kube = await startKubeUnderRole(t);
  kube.create(configMap('app-config', { 'app.conf': 'v1' }));
  const target = tempDir();
  const sync = await startSync(
    t,
    kubeArgs(kube, target, '--configmap', 'app-config', '--resync-interval', '1s'),
  );
  const listed = lists(kube);
  await waitFor(() => lists(kube) >= listed + 3, { timeoutMs: 20_000, what: 'three more re-lists' });
  t.ok((await metric(sync.adminUrl, 'podkit_config_sync_syncs_total', 'result="unchanged"')) >= 2);
  t.ok(
    (await metric(sync.adminUrl, 'podkit_config_sync_last_success_age_seconds')) < 5,
    'success stays recent while nothing changes',
  );
  t.equal(
    await metric(sync.adminUrl, 'podkit_config_sync_publishes_total'),
    1,
    'nothing republished by re-lists',
  );
});
