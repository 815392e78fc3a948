/**
 * The Role in the README is exactly enough: with --provision (which needs every rule) the broker
 * provisions and follows the Service with no request refused, and without any one verb of the Role it
 * logs which request was refused (the log line carries PODKIT_ERR_KUBE_API and the 403).
 */

import t from 'tap';
import {
  documentedRules,
  grantedVerbs,
  withoutVerb,
} from '../../../test/support/fake-kube/documented-role.js';
import { startFakeKube } from '../../../test/support/fake-kube/index.js';
import { waitFor } from '../../../test/support/wait.js';
import { startBroker } from './helpers.js';
import { brokerArgs, namespace, readmePath } from './kube-helpers.js';

const flags = ['--provision'];
const rules = documentedRules(readmePath, flags);

t.test('under the documented Role: provisioned and followed, no request refused', async (t) => {
  const kube = await startFakeKube(t, { rbac: { rules, namespace }, statefulSetReadyAfterMs: 200 });
  const broker = await startBroker(t, brokerArgs(kube, 'db', flags), { ready: false });
  await broker.waitForLog('provisioned database is ready', 30_000);
  await waitFor(
    () => kube.requests.some((r) => r.path.endsWith('/endpointslices') && r.query.watch === 'true'),
    { what: 'the EndpointSlice watch' },
  );
  t.same(
    kube.requests.filter((r) => r.code === 403).map((r) => `${r.method} ${r.path}`),
    [],
    'nothing refused',
  );
});

for (const { rule, verb, what } of grantedVerbs(rules)) {
  t.test(`without "${what}": the refusal is logged, naming the verb and the resource`, async (t) => {
    const kube = await startFakeKube(t, {
      rbac: { rules: withoutVerb(rules, rule, verb), namespace },
      statefulSetReadyAfterMs: 200,
    });
    const resource = rules[rule]?.resources[0] as string;
    const broker = await startBroker(t, brokerArgs(kube, 'db', flags), { ready: false });
    const line = await broker.waitForLog(
      (l) =>
        l.code === 'PODKIT_ERR_KUBE_API' &&
        new RegExp(`403.*${resource}|${resource}.*403`).test(String(l.err)),
      30_000,
    );
    // A request answers with the server's Status message; a watch names its verb and path.
    const method = { create: 'POST', get: 'GET', list: 'GET' }[verb];
    t.match(
      String(line.err),
      new RegExp(`cannot ${verb} resource "${resource}"|${verb} /apis?/[\\w./-]+/${resource}: HTTP 403`),
    );
    t.ok(
      kube.requests.some(
        (r) => r.code === 403 && r.path.includes(`/${resource}`) && (!method || r.method === method),
      ),
      `the fake refused ${what}`,
    );
  });
}
