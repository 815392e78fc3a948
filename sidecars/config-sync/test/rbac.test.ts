/**
 * The Role in the README is exactly enough: config-sync (with --include-secrets, which needs the most)
 * works under it with no request refused, and without any one of its verbs it says which was refused.
 */

import t from 'tap';
import {
  documentedRules,
  grantedVerbs,
  withoutVerb,
} from '../../../test/support/fake-kube/documented-role.js';
import { type FakeKube, startFakeKube } from '../../../test/support/fake-kube/index.js';
import { configMap, configMapRef, kubeArgs, readmePath, startSync, tempDir, waitForFile } from './helpers.js';

const flags = ['--include-secrets'];
const rules = documentedRules(readmePath, flags);
const labels = { app: 'web' };

function seed(kube: FakeKube): void {
  kube.create(configMap('web-config', { 'app.conf': 'one\n' }, { labels }));
  kube.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'web-secret', namespace: 'default', labels },
    stringData: { 'password.txt': 'hunter2' },
  });
}

const args = (kube: FakeKube, target: string) => kubeArgs(kube, target, '--selector', 'app=web', ...flags);

t.test('under the documented Role: synced and followed, no request refused', async (t) => {
  const kube = await startFakeKube(t, { rbac: { rules, namespace: 'default' } });
  seed(kube);
  const target = tempDir();
  await startSync(t, args(kube, target));
  await waitForFile(target, 'password.txt', 'hunter2');
  kube.patch(configMapRef('web-config'), { data: { 'app.conf': 'two\n' } });
  await waitForFile(target, 'app.conf', 'two\n');
  t.same(
    kube.requests.filter((r) => r.code === 403).map((r) => `${r.method} ${r.path}`),
    [],
    'nothing refused',
  );
});

for (const { rule, verb, what } of grantedVerbs(rules)) {
  t.test(`without "${what}": the refusal is logged, naming the verb and the resource`, async (t) => {
    const kube = await startFakeKube(t, {
      rbac: { rules: withoutVerb(rules, rule, verb), namespace: 'default' },
    });
    seed(kube);
    const resource = rules[rule]?.resources[0] as string;
    const sync = await startSync(t, args(kube, tempDir()), { ready: false });
    const line = await sync.waitForLog((l) => l.code === 'PODKIT_ERR_KUBE_API' && /403/.test(String(l.err)));
    t.equal(line.msg, 'cannot read the source; the last good configuration stays');
    // A list answers with the server's Status message; a watch names its verb and path.
    t.match(
      String(line.err),
      new RegExp(
        `cannot ${verb} resource "${resource}"|${verb} /api/v1/namespaces/default/${resource}: HTTP 403`,
      ),
    );
    t.ok(
      kube.requests.some((r) => r.code === 403 && r.path.endsWith(`/${resource}`)),
      `the fake refused ${what}`,
    );
  });
}
