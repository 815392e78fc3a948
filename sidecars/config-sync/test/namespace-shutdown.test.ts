/**
 * --namespace against the fake API server's real namespace semantics (the Role bound in that namespace
 * only), and SIGTERM in the middle of a publish: the target keeps one whole version, never a half one.
 */

import { readdirSync, readFileSync, readlinkSync, watch } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { documentedRules } from '../../../test/support/fake-kube/documented-role.js';
import { startFakeKube } from '../../../test/support/fake-kube/index.js';
import {
  configMap,
  KubeletVolume,
  kubeArgs,
  readmePath,
  readTarget,
  startSync,
  tempDir,
  waitForFile,
} from './helpers.js';

t.test(
  '--namespace: only that namespace is read and watched; the same names elsewhere are not seen',
  async (t) => {
    const kube = await startFakeKube(t, {
      rbac: { rules: documentedRules(readmePath), namespace: 'team-b' },
    });
    kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' } });
    const labels = { app: 'web' };
    const inTeamB = (name: string, data: Record<string, string>) => {
      const object = configMap(name, data, { labels });
      return { ...object, metadata: { ...object.metadata, namespace: 'team-b' } };
    };
    kube.create(configMap('web-config', { 'app.conf': 'from default' }, { labels }));
    kube.create(configMap('default-only', { 'default.conf': 'from default' }, { labels }));
    kube.create(inTeamB('web-config', { 'app.conf': 'from team-b' }));
    const target = tempDir();
    const sync = await startSync(t, kubeArgs(kube, target, '--namespace', 'team-b', '--selector', 'app=web'));

    t.equal(
      readTarget(target, 'app.conf'),
      'from team-b',
      "team-b's ConfigMap, not default's of the same name",
    );
    t.equal(readTarget(target, 'default.conf'), undefined, 'a matching ConfigMap in default is not merged');

    // A change in default first, then one in team-b: when team-b's arrives, default's was not followed.
    kube.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'web-config' },
      { data: { 'app.conf': 'default changed' } },
    );
    kube.create(inTeamB('second', { 'second.conf': 'from team-b' }));
    await waitForFile(target, 'second.conf', 'from team-b');
    t.equal(readTarget(target, 'app.conf'), 'from team-b', "default's change never reached the target");

    const paths = kube.requests.filter((r) => r.path.includes('/configmaps')).map((r) => r.path);
    t.ok(paths.length > 0);
    t.same(
      paths.filter((p) => p !== '/api/v1/namespaces/team-b/configmaps'),
      [],
      'every list and watch asked for team-b only',
    );
    t.notOk(
      sync.logs.some((l) => l.level === 'error' || l.level === 'warn'),
      'no refusal: the Role bound in team-b was enough',
    );
  },
);

t.test('SIGTERM mid-publish: the publish in progress completes or is not seen; exit 0', async (t) => {
  const keys = 1000;
  const version = (tag: string) =>
    Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}.conf`, `${tag} ${i}\n`]));
  const source = tempDir();
  const target = tempDir();
  const volume = new KubeletVolume(source);
  await volume.write(version('one'));
  const sync = await startSync(t, [
    '--source',
    'dir',
    '--source-dir',
    source,
    '--target-dir',
    target,
    '--debounce',
    '20ms',
  ]);
  const first = readlinkSync(join(target, '..data'));

  // SIGTERM as soon as the second version's directory appears, while its files are being written.
  let liveAtSignal: string | undefined;
  let filesAtSignal = -1;
  const signalled = new Promise<void>((resolve) => {
    const watcher = watch(target, (_event, name) => {
      if (!name?.startsWith('..v2-') || liveAtSignal !== undefined) return;
      liveAtSignal = readlinkSync(join(target, '..data'));
      filesAtSignal = readdirSync(join(target, name)).length;
      sync.signal('SIGTERM');
      watcher.close();
      resolve();
    });
    t.teardown(() => watcher.close());
  });
  await volume.write(version('two'));
  await signalled;
  const exit = await sync.exited;

  t.equal(liveAtSignal, first, 'the signal came while the first version was still live');
  t.ok(filesAtSignal < keys, `and the second was still being written (${filesAtSignal} of ${keys} files)`);
  t.same(exit, { code: 0, signal: null }, 'a clean exit');
  const live = readlinkSync(join(target, '..data'));
  const tag = live === first ? 'one' : 'two';
  const seen = Array.from({ length: keys }, (_, i) => readFileSync(join(target, `k${i}.conf`), 'utf8'));
  t.same(
    seen.filter((content, i) => content !== `${tag} ${i}\n`),
    [],
    `every file through its link is from version ${tag}: one whole version, nothing half-written`,
  );
  t.same(readdirSync(join(target, live)).length, keys, 'the live version directory is complete');
});
