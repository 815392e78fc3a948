/**
 * In a pod, as a cluster runs it: no kubeconfig, the API over HTTPS found through KUBERNETES_SERVICE_*,
 * the service account's CA, namespace and token from its projected volume, and a token the kubelet
 * rotates while config-sync runs. After the rotation the old token is refused and config-sync must keep
 * following its ConfigMap with the new one.
 */

import { mkdir } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import t from 'tap';
import { CertificateAuthority } from '../../../test/support/certs.js';
import { documentedRules } from '../../../test/support/fake-kube/documented-role.js';
import { startFakeKube } from '../../../test/support/fake-kube/index.js';
import { KubeletVolume } from '../../../test/support/kubelet-volume.js';
import { distDir, startComponent } from '../../../test/support/process.js';
import { configMap, configMapRef, readmePath, tempDir, waitForFile } from './helpers.js';

/** The HTTP code the fake answers a list made with `token`, trusting only `caPem`. */
function codeFor(url: string, token: string, caPem: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(
      `${url}/api/v1/namespaces/default/configmaps`,
      { ca: caPem, headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    )
      .on('error', reject)
      .end();
  });
}

t.test('in-cluster credentials over HTTPS, across a token rotation', async (t) => {
  const ca = await CertificateAuthority.create();
  const cert = await ca.localhost();
  const kube = await startFakeKube(t, {
    token: 'token-1',
    tls: { chainPem: cert.chainPem, keyPem: cert.keyPem, caPem: ca.certPem },
    rbac: { rules: documentedRules(readmePath), namespace: 'default' },
  });
  kube.create(configMap('app-config', { 'app.conf': 'one\n' }));

  const root = tempDir('podkit-in-pod-');
  const serviceAccountDir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  await mkdir(serviceAccountDir, { recursive: true });
  const serviceAccount = new KubeletVolume(serviceAccountDir);
  const files = (token: string) => ({ token, 'ca.crt': ca.certPem, namespace: 'default' });
  await serviceAccount.write(files('token-1'));

  const target = tempDir();
  const sync = await startComponent(
    t,
    'config-sync',
    [
      'config-sync',
      '--source',
      'kubernetes',
      '--configmap',
      'app-config',
      '--target-dir',
      target,
      '--debounce',
      '50ms',
    ],
    {
      script: join(distDir, 'test/fixtures/in-pod.js'),
      env: {
        PODKIT_TEST_POD_ROOT: root,
        KUBECONFIG: '',
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: String(kube.port),
      },
      timeoutMs: 30_000,
    },
  );
  await waitForFile(target, 'app.conf', 'one\n');
  kube.patch(configMapRef('app-config'), { data: { 'app.conf': 'two\n' } });
  await waitForFile(target, 'app.conf', 'two\n');

  // The kubelet writes the new token; the old one stops working; open watches end (a server timeout).
  await serviceAccount.write(files('token-2'));
  kube.rotateToken('token-2');
  t.equal(await codeFor(kube.url, 'token-1', ca.certPem), 401, 'the old token is refused');
  const rotatedAt = kube.requests.length;
  kube.endWatches();
  kube.patch(configMapRef('app-config'), { data: { 'app.conf': 'three\n' } });
  await waitForFile(target, 'app.conf', 'three\n').catch((err) => {
    console.error(JSON.stringify(kube.requests.slice(rotatedAt)), sync.transcript());
    throw err;
  });
  t.same(
    kube.requests
      .slice(rotatedAt)
      .filter((r) => r.code === 401)
      .map((r) => `${r.method} ${r.path}`),
    [],
    'every request after the rotation carried the new token',
  );
  t.notOk(
    sync.logs.some((l) => /401|Unauthorized/.test(String(l.err))),
    'no request of config-sync was refused',
  );
});
