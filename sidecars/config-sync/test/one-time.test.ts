/**
 * --one-time (an init container): exit codes, files in place, and the reason in the termination log
 * where Kubernetes shows it.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { freePort } from '../../../test/support/ports.js';
import { runPodkit } from '../../../test/support/process.js';
import { KubeletVolume, readTarget, startKubeUnderRole, targetLayout, tempDir } from './helpers.js';

const once = (...args: string[]) =>
  runPodkit(['config-sync', '--one-time', '--admin-address', '127.0.0.1:0', ...args]);

t.test('--one-time from a mounted volume: exit 0 with the files in place', async (t) => {
  const source = tempDir();
  const target = tempDir();
  await new KubeletVolume(source).write({ 'app.conf': 'port = 8080\n', 'db.json': '{"pool": 4}' });
  const run = await once('--source', 'dir', '--source-dir', source, '--target-dir', target);
  t.equal(run.code, 0, run.stdout);
  t.equal(readTarget(target, 'app.conf'), 'port = 8080\n');
  t.equal(readTarget(target, 'db.json'), '{"pool": 4}');
  t.match(run.stdout, /"msg":"published"/);
  t.match(run.stdout, /one-time sync done: published/);

  const again = await once('--source', 'dir', '--source-dir', source, '--target-dir', target);
  t.equal(again.code, 0);
  t.match(again.stdout, /one-time sync done: unchanged/, 'a second run finds the same version published');
});

t.test('--one-time from the API: one list, no watch, exit 0', async (t) => {
  const kube = await startKubeUnderRole(t);
  kube.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app', namespace: 'default' },
    data: { 'app.conf': 'from the API' },
  });
  const target = tempDir();
  const args = [
    '--source',
    'kubernetes',
    '--kubeconfig',
    kube.kubeconfigPath,
    '--configmap',
    'app',
    '--target-dir',
    target,
  ];
  const run = await once(...args);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.equal(readTarget(target, 'app.conf'), 'from the API');
  t.equal(kube.requests.filter((r) => r.query.watch === 'true').length, 0, 'one list, no watch');
});

t.test('--one-time with an unreachable source: exit 1 with the reason', async (t) => {
  const dir = tempDir();
  const terminationLog = join(dir, 'termination-log');
  writeFileSync(terminationLog, '');
  const target = join(dir, 'config');
  const port = await freePort();
  const run = await once(
    '--source',
    'http',
    '--url',
    `http://127.0.0.1:${port}/config`,
    '--target-dir',
    target,
    '--termination-log',
    terminationLog,
  );
  t.equal(run.code, 1);
  const reason = readFileSync(terminationLog, 'utf8');
  t.match(
    reason,
    new RegExp(
      `^one-time sync failed: cannot read the source: .*GET http://127\\.0\\.0\\.1:${port}/config: .*ECONNREFUSED`,
    ),
  );
  t.match(run.stdout, /"level":"error".*one-time sync failed/);
  t.same(await targetLayout(target), {}, 'nothing published');

  const kube = await startKubeUnderRole(t);
  await kube.stop();
  const api = await once(
    '--source',
    'kubernetes',
    '--kubeconfig',
    kube.kubeconfigPath,
    '--configmap',
    'app',
    '--target-dir',
    target,
    '--termination-log',
    terminationLog,
  );
  t.equal(api.code, 1);
  t.match(readFileSync(terminationLog, 'utf8'), /cannot read the source: .*ECONNREFUSED/);
});

t.test('--one-time with invalid configuration: exit 1, nothing published', async (t) => {
  const dir = tempDir();
  const source = join(dir, 'source');
  await new KubeletVolume(source).write({ 'settings.json': '{"unterminated": ' });
  const terminationLog = join(dir, 'termination-log');
  writeFileSync(terminationLog, '');
  const target = join(dir, 'config');
  const run = await once(
    '--source',
    'dir',
    '--source-dir',
    source,
    '--target-dir',
    target,
    '--termination-log',
    terminationLog,
  );
  t.equal(run.code, 1);
  t.match(
    readFileSync(terminationLog, 'utf8'),
    /^one-time sync failed \(invalid\): PODKIT_ERR_VALIDATION: settings\.json: invalid JSON/,
  );
  t.same(await targetLayout(target), {});
});
