/**
 * The fake API server's access control against the real client: allow-list RBAC from a Role's rules
 * (403 with the Status kube-apiserver sends), the Roles the READMEs document, HTTPS with a CA, and a
 * bearer token that rotates.
 */

import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import t from 'tap';
import { CertificateAuthority } from './certs.js';
import { configMap, failure, statefulSet } from './fake-kube/client-helpers.js';
import { documentedRole, documentedRules, withoutVerb } from './fake-kube/documented-role.js';
import { startFakeKube } from './fake-kube/index.js';
import { nameFromFieldSelector, type PolicyRule, ruleAllows } from './fake-kube/rbac.js';
import { repoRoot } from './process.js';

const user = 'system:serviceaccount:default:podkit';
const namespace = 'default';

t.test('allow-list RBAC: what the Role grants works, the rest gets the Forbidden Status', async (t) => {
  const rules: PolicyRule[] = [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['list'], resourceNames: ['app-secret'] },
    { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['create', 'get'] },
  ];
  const kube = await startFakeKube(t, { rbac: { rules, namespace } });
  kube.create(configMap('app', {}, { a: '1' }));
  kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  const apps = kube.kubeConfig().makeApiClient(AppsV1Api);

  t.same((await core.readNamespacedConfigMap({ name: 'app', namespace })).data, { a: '1' });
  t.equal((await core.listNamespacedConfigMap({ namespace })).items.length, 1);

  const create = await failure(core.createNamespacedConfigMap({ namespace, body: configMap('b') }));
  t.same(create, {
    code: 403,
    status: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `configmaps is forbidden: User "${user}" cannot create resource "configmaps" in API group "" in the namespace "default"`,
      reason: 'Forbidden',
      details: { kind: 'configmaps' },
      code: 403,
    },
  });
  const elsewhere = await failure(core.listNamespacedConfigMap({ namespace: 'other' }));
  t.equal(elsewhere.code, 403, 'a Role grants nothing outside its namespace');
  t.match(
    elsewhere.status.message,
    /cannot list resource "configmaps" in API group "" in the namespace "other"/,
  );
  const everywhere = await failure(core.listConfigMapForAllNamespaces());
  t.match(everywhere, {
    code: 403,
    status: {
      message: `configmaps is forbidden: User "${user}" cannot list resource "configmaps" in API group "" at the cluster scope`,
    },
  });

  // resourceNames: a list pinned to the name is a request for that object; the whole collection is not.
  const pinned = await core.listNamespacedSecret({ namespace, fieldSelector: 'metadata.name=app-secret' });
  t.equal(pinned.items.length, 0);
  t.match(await failure(core.listNamespacedSecret({ namespace, fieldSelector: 'metadata.name=db' })), {
    code: 403,
    status: {
      message: /^secrets "db" is forbidden: User ".*" cannot list resource "secrets"/,
      details: { name: 'db' },
    },
  });
  t.equal((await failure(core.listNamespacedSecret({ namespace }))).code, 403, 'the whole collection');

  const sts = await apps.createNamespacedStatefulSet({ namespace, body: statefulSet('db') });
  t.equal(sts.metadata?.name, 'db', 'a granted create in another API group');
  const status = await failure(
    apps.replaceNamespacedStatefulSetStatus({
      name: 'db',
      namespace,
      body: { ...sts, status: { replicas: 1 } },
    }),
  );
  t.match(status, {
    code: 403,
    status: {
      message: `statefulsets.apps "db" is forbidden: User "${user}" cannot update resource "statefulsets/status" in API group "apps" in the namespace "default"`,
      details: { name: 'db', group: 'apps', kind: 'statefulsets' },
    },
  });

  // deny() narrows the Role further; allow() lifts only the denial.
  kube.deny('get', 'configmaps');
  t.equal((await failure(core.readNamespacedConfigMap({ name: 'app', namespace }))).code, 403);
  kube.allow('get', 'configmaps');
  t.ok(await core.readNamespacedConfigMap({ name: 'app', namespace }));
});

t.test('rule matching follows the authorizer: wildcards, subresources, resourceNames', async (t) => {
  const request = { verb: 'get', group: 'apps', resource: 'statefulsets', namespace, name: 'db' };
  t.ok(ruleAllows({ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, request));
  t.notOk(ruleAllows({ apiGroups: [''], resources: ['statefulsets'], verbs: ['get'] }, request), 'group');
  t.ok(
    ruleAllows(
      { apiGroups: ['apps'], resources: ['*/status'], verbs: ['get'] },
      {
        ...request,
        resource: 'statefulsets/status',
      },
    ),
  );
  t.notOk(
    ruleAllows(
      { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get'] },
      {
        ...request,
        resource: 'statefulsets/status',
      },
    ),
    'the resource does not grant its subresource',
  );
  const named = {
    apiGroups: ['apps'],
    resources: ['statefulsets'],
    verbs: ['create', 'get'],
    resourceNames: ['db'],
  };
  t.ok(ruleAllows(named, request));
  t.notOk(ruleAllows(named, { ...request, verb: 'create' }), 'resourceNames never grant a create');
  t.equal(nameFromFieldSelector('status.phase=Running,metadata.name==db'), 'db');
  t.equal(nameFromFieldSelector('metadata.name!=db'), undefined);
});

t.test('the READMEs document a Role the tests can read, with the optional rules marked', async (t) => {
  const broker = documentedRole(join(repoRoot, 'ambassadors/mysql-broker/README.md'));
  t.ok(broker.some((r) => r.onlyWith === undefined && r.rule.resources.includes('endpointslices')));
  t.ok(broker.some((r) => r.onlyWith === '--provision' && r.rule.resources.includes('statefulsets')));
  const sync = documentedRole(join(repoRoot, 'sidecars/config-sync/README.md'));
  t.ok(sync.some((r) => r.onlyWith === undefined && r.rule.resources.includes('configmaps')));
  t.ok(sync.some((r) => r.onlyWith === '--include-secrets' && r.rule.resources.includes('secrets')));
  const plain = documentedRules(join(repoRoot, 'sidecars/config-sync/README.md'));
  t.notOk(
    plain.some((rule) => rule.resources.includes('secrets')),
    'without the flag, its rules are left out',
  );
  t.same(
    withoutVerb([{ apiGroups: [''], resources: ['a'], verbs: ['get'] }], 0, 'get'),
    [],
    'empty rules go',
  );
});

t.test('HTTPS with a CA, and a bearer token that rotates', async (t) => {
  const ca = await CertificateAuthority.create();
  const cert = await ca.localhost();
  const kube = await startFakeKube(t, {
    token: 'token-1',
    tls: { chainPem: cert.chainPem, keyPem: cert.keyPem, caPem: ca.certPem },
  });
  t.match(kube.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const clientWith = (token: string, caPem = ca.certPem) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: kube.url, caData: Buffer.from(caPem).toString('base64') }],
      users: [{ name: 'u', token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc.makeApiClient(CoreV1Api);
  };
  t.ok(
    await kube.kubeConfig().makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace }),
    'its kubeconfig',
  );
  t.ok(await clientWith('token-1').listNamespacedConfigMap({ namespace }));
  const other = await CertificateAuthority.create('another CA');
  await t.rejects(
    clientWith('token-1', other.certPem).listNamespacedConfigMap({ namespace }),
    // fetch (undici) says "fetch failed" and keeps the TLS verdict in `cause`.
    { cause: { code: 'SELF_SIGNED_CERT_IN_CHAIN' } },
    'a client trusting another CA refuses the server',
  );
  kube.rotateToken('token-2');
  t.equal(
    (await failure(clientWith('token-1').listNamespacedConfigMap({ namespace }))).code,
    401,
    'old token',
  );
  t.ok(await clientWith('token-2').listNamespacedConfigMap({ namespace }), 'new token');
  t.same(
    kube.requests.slice(-2).map((r) => r.code),
    [401, 200],
    'each request records the code it got',
  );
});
