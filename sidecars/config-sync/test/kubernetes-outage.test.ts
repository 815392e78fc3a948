/**
 * The kubernetes source when the API goes away: the real sidecar process against the fake
 * kube-apiserver, stopped and started again on the same port with the same data.
 */

import t from 'tap';
import { waitFor } from '../../../test/support/wait.js';
import {
  configMap,
  configMapRef,
  kubeArgs,
  metric,
  readTarget,
  readyz,
  startKubeUnderRole,
  startSync,
  targetLayout,
  tempDir,
  waitForFile,
  waitForMetric,
} from './helpers.js';

t.test(
  'API down: the last good configuration stays and the pod stays ready; back: changes resume',
  async (t) => {
    const kube = await startKubeUnderRole(t);
    kube.create(configMap('app-config', { 'app.conf': 'before the outage' }));
    const target = tempDir();
    const sync = await startSync(t, kubeArgs(kube, target, '--configmap', 'app-config'));

    await kube.stop();
    // The open watch is cut first; the retries then find nothing listening.
    await waitFor(
      async () =>
        /failing since .*: cannot read the source/.test(JSON.stringify((await readyz(sync.adminUrl)).body)),
      { what: 'readiness detail saying the source fails' },
    );
    await waitFor(
      () => sync.logs.some((l) => l.code === 'PODKIT_ERR_KUBE_API' && /ECONNREFUSED/.test(String(l.err))),
      { what: 'the log naming the refused connection' },
    );
    t.equal(
      (await readyz(sync.adminUrl)).status,
      200,
      'still ready: the app is serving with a good configuration',
    );
    t.ok((await metric(sync.adminUrl, 'podkit_config_sync_source_errors_total')) >= 2, 'errors counted');
    t.equal(readTarget(target, 'app.conf'), 'before the outage');
    t.ok(
      sync.logs.some(
        (l) =>
          l.code === 'PODKIT_ERR_KUBE_API' &&
          l.msg === 'cannot read the source; the last good configuration stays',
      ),
    );

    kube.patch(configMapRef('app-config'), { data: { 'app.conf': 'changed during the outage' } });
    await kube.start();
    await waitForFile(target, 'app.conf', 'changed during the outage', 40_000);
    await waitFor(async () => JSON.stringify((await readyz(sync.adminUrl)).body).includes('"source":"ok"'), {
      what: 'source ok again',
    });
  },
);

t.test('API unreachable at start, or the ConfigMap missing: not ready until the first sync', async (t) => {
  const kube = await startKubeUnderRole(t);
  await kube.stop();
  const target = tempDir();
  const sync = await startSync(t, kubeArgs(kube, target, '--configmap', 'app-config'), { ready: false });
  await waitForMetric(sync.adminUrl, 'podkit_config_sync_source_errors_total', '', (v) => v >= 1);
  const down = await readyz(sync.adminUrl);
  t.equal(down.status, 503);
  t.match(down.body, { checks: { config: { detail: { reason: 'cannot read the source' } } } });
  t.ok(
    sync.logs.some((l) => /ECONNREFUSED/.test(String(l.err))),
    'the log names the refused connection',
  );

  await kube.start();
  await waitFor(() => sync.logs.some((l) => /ConfigMap default\/app-config not found/.test(String(l.err))), {
    timeoutMs: 40_000,
    what: 'not found reported',
  });
  t.equal((await readyz(sync.adminUrl)).status, 503, 'a missing ConfigMap is not an empty configuration');
  t.same(await targetLayout(target), {}, 'nothing published');

  kube.create(configMap('app-config', { 'app.conf': 'finally' }));
  await waitForFile(target, 'app.conf', 'finally');
  await waitFor(async () => (await readyz(sync.adminUrl)).status === 200, { what: 'ready' });
});
