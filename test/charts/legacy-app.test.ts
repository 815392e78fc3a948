/**
 * The charts with the real helm: lint --strict, every ci/ values file rendered once and every manifest
 * validated against the Kubernetes schemas (kubernetes-models), assertions on the rendered pod, the
 * values schema rejecting a wrong type, and the generated schema and README tables kept in sync.
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { components } from '../../components.js';
import { helm, helmFailure, helmTemplate, type Manifest, staleChartDocs } from '../support/helm.js';
import { schemaProblems } from '../support/kube-schema.js';
import { repoRoot } from '../support/process.js';

const chart = join(repoRoot, 'charts/legacy-app');
const library = join(repoRoot, 'charts/podkit');

function render(valuesFile: string): Promise<Manifest[]> {
  return helmTemplate('legacy', chart, ['-f', valuesFile]);
}

const ciDir = join(chart, 'ci');
const rendered = new Map<string, Manifest[]>();

t.before(async () => {
  await helm(['dependency', 'build', chart]);
  for (const file of (await readdir(ciDir)).filter((f) => f.endsWith('-values.yaml'))) {
    rendered.set(file, await render(join(ciDir, file)));
  }
});

function pod(file: string) {
  const deployment = rendered.get(file)?.find((m) => m.kind === 'Deployment');
  if (!deployment) throw new Error(`${file}: no Deployment rendered`);
  return deployment.spec.template.spec;
}

t.test('helm lint --strict passes for both charts', async (t) => {
  const { stdout } = await helm(['lint', '--strict', library, chart]);
  t.match(stdout, /2 chart\(s\) linted, 0 chart\(s\) failed/);
});

t.test(
  'every ci/ values file renders and every manifest matches its Kubernetes schema, no unknown field',
  async (t) => {
    t.ok(rendered.size >= 3, 'ci/ values files rendered');
    for (const [file, manifests] of rendered) {
      for (const manifest of manifests) {
        // The Prometheus operator's CRD is not a Kubernetes built-in.
        if (manifest.apiVersion === 'monitoring.coreos.com/v1') continue;
        t.same(await schemaProblems(manifest), [], `${file}: ${manifest.kind} ${manifest.metadata.name}`);
      }
    }
  },
);

t.test('the schema check refuses a misspelt field and a field in the wrong place', async (t) => {
  const deployment = structuredClone(
    rendered.get('default-values.yaml')?.find((m) => m.kind === 'Deployment'),
  );
  if (!deployment) throw new Error('no Deployment rendered');
  const container = deployment.spec.template.spec.containers[1];
  container.securityContex = container.securityContext;
  delete container.securityContext;
  deployment.spec.template.spec.readinessProbe = container.readinessProbe;
  t.same(await schemaProblems(deployment), [
    '/spec/template/spec/readinessProbe: unknown field',
    '/spec/template/spec/containers/1/securityContex: unknown field',
  ]);
  deployment.spec.replicas = 'two';
  t.match((await schemaProblems(deployment))[0], /replicas/, 'a wrong type is still the schema error');
});

t.test('all eight components in one pod, as native sidecars, with distinct admin ports probed', async (t) => {
  const spec = pod('all-components-values.yaml');
  const sidecars = spec.initContainers as Manifest[];
  t.same(sidecars.map((c) => c.name).sort(), Object.keys(components).sort());
  const ports = new Set<number>();
  for (const container of sidecars) {
    const adminPort = components[container.name as keyof typeof components].adminPort;
    t.equal(container.restartPolicy, 'Always', `${container.name} is a native sidecar`);
    t.equal(
      container.readinessProbe.httpGet.port,
      adminPort,
      `${container.name} readiness on its admin port`,
    );
    t.equal(container.readinessProbe.httpGet.path, '/readyz');
    if (container.name === 'db-health') {
      // Its /healthz answers for the database: a down database must not restart the adapter.
      t.notOk(container.livenessProbe, 'db-health has no liveness probe');
      t.notOk(container.startupProbe, 'db-health has no startup probe');
    } else {
      t.equal(container.livenessProbe.httpGet.path, '/healthz');
      t.equal(container.startupProbe.httpGet.port, adminPort);
    }
    t.same(
      container.envFrom,
      [{ configMapRef: { name: 'legacy-podkit' } }],
      `${container.name} env from the ConfigMap`,
    );
    for (const port of container.ports) {
      t.notOk(ports.has(port.containerPort), `port ${port.containerPort} used once`);
      ports.add(port.containerPort);
    }
  }
  t.equal(spec.shareProcessNamespace, true, 'config-sync signals the app');
});

t.test('every container runs with the secure security context', async (t) => {
  for (const file of rendered.keys()) {
    const spec = pod(file);
    for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
      t.match(
        container.securityContext,
        {
          runAsNonRoot: true,
          runAsUser: 65532,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        },
        `${file}: ${container.name}`,
      );
      if (container.name !== 'app')
        t.match(container.securityContext, { seccompProfile: { type: 'RuntimeDefault' } });
    }
    t.match(spec.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  }
});

t.test('the image tag defaults to the appVersion; a digest replaces the tag', async (t) => {
  const tlsProxy = pod('default-values.yaml').containers.find((c: Manifest) => c.name === 'tls-proxy');
  t.equal(tlsProxy.image, 'localhost/podkit-tls-proxy:0.1.0');
  const digest = `sha256:${'ab'.repeat(32)}`;
  const manifests = await helmTemplate('legacy', chart, ['--set', `tlsProxy.image.digest=${digest}`]);
  const pinned = manifests
    .find((m) => m.kind === 'Deployment')
    ?.spec.template.spec.containers.find((c: Manifest) => c.name === 'tls-proxy');
  t.equal(pinned.image, `localhost/podkit-tls-proxy@${digest}`);
});

t.test('a changed option changes checksum/config, so the pod rolls', async (t) => {
  const checksum = async (args: string[]) =>
    (await helmTemplate('legacy', chart, args)).find((m) => m.kind === 'Deployment')?.spec.template.metadata
      .annotations['checksum/config'];
  const before = await checksum([]);
  t.equal(await checksum([]), before, 'the same values give the same checksum');
  t.not(await checksum(['--set', 'tlsProxy.options.upstream=http://127.0.0.1:9090']), before);
});

t.test('shareProcessNamespace only when a component that signals the app is on', async (t) => {
  t.equal(pod('default-values.yaml').shareProcessNamespace, true, 'config-sync signals the app');
  t.notOk(pod('minimal-values.yaml').shareProcessNamespace, 'tls-proxy alone signals nothing');
});

t.test('config-sync reads Secrets only with includeSecrets', async (t) => {
  const rules = async (args: string[]) =>
    (await helmTemplate('legacy', chart, args)).find((m) => m.kind === 'Role')?.rules as {
      resources: string[];
    }[];
  t.same(
    (await rules([])).flatMap((r) => r.resources),
    ['configmaps'],
  );
  t.same(
    (await rules(['--set', 'configSync.options.includeSecrets=true'])).flatMap((r) => r.resources),
    ['configmaps', 'secrets'],
  );
});

t.test(
  "extraVolumeMounts give the app a volume of podkitVolumes (its MySQL password's Secret)",
  async (t) => {
    const volumes = [
      { name: 'logs' },
      { name: 'run' },
      { name: 'tls', secretName: 'legacy-app-tls' },
      { name: 'mysql', secretName: 'legacy-db' },
    ];
    const mount = { name: 'mysql', mountPath: '/etc/legacy-mysql', readOnly: true };
    const manifests = await helmTemplate('legacy', chart, [
      '--set-json',
      `podkitVolumes=${JSON.stringify(volumes)}`,
      '--set-json',
      `extraVolumeMounts=${JSON.stringify([mount])}`,
    ]);
    const deployment = manifests.find((m) => m.kind === 'Deployment');
    const spec = deployment?.spec.template.spec;
    const app = spec.containers.find((c: Manifest) => c.name === 'app');
    t.same(app.volumeMounts.at(-1), mount, "after the app's own mounts");
    t.equal(app.volumeMounts.length, 4);
    t.same(
      spec.volumes.find((v: Manifest) => v.name === 'mysql'),
      { name: 'mysql', secret: { secretName: 'legacy-db' } },
      'the Secret volume',
    );
    t.same(await schemaProblems(deployment as Manifest), [], 'a valid Deployment');
    const plain = pod('default-values.yaml').containers.find((c: Manifest) => c.name === 'app');
    t.equal(plain.volumeMounts.length, 3, 'none by default');
  },
);

t.test(
  'config-sync with options.kubeconfig calls that API server: no token, ServiceAccount or Role',
  async (t) => {
    const manifests = await helmTemplate('legacy', chart, [
      '--set-json',
      `podkitVolumes=${JSON.stringify([{ name: 'logs' }, { name: 'run' }, { name: 'kube', secretName: 'legacy-kube' }])}`,
      '--set-json',
      `configSync.volumeMounts=${JSON.stringify([
        { name: 'app-config', mountPath: '/etc/legacy' },
        { name: 'kube', mountPath: '/etc/kube', readOnly: true },
      ])}`,
      '--set',
      'configSync.options.kubeconfig=/etc/kube/kubeconfig',
    ]);
    const spec = manifests.find((m) => m.kind === 'Deployment')?.spec.template.spec;
    const configSync = spec.containers.find((c: Manifest) => c.name === 'config-sync');
    t.same(
      configSync.volumeMounts.map((m: Manifest) => m.name),
      ['app-config', 'kube'],
      'its kubeconfig Secret, and no kube-api-access',
    );
    t.notOk(
      spec.volumes.some((v: Manifest) => v.name === 'kube-api-access'),
      'no projected token volume',
    );
    t.equal(spec.automountServiceAccountToken, false);
    t.notOk(spec.serviceAccountName, 'no ServiceAccount named');
    t.same(
      manifests.filter((m) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(m.kind)).map((m) => m.kind),
      [],
      'no ServiceAccount, Role or RoleBinding rendered',
    );
    const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'legacy-podkit');
    t.equal(config?.data.PODKIT_CONFIG_SYNC_KUBECONFIG, '/etc/kube/kubeconfig');
    t.equal(config?.data.PODKIT_CONFIG_SYNC_SOURCE, 'kubernetes');
    // Without it, the default: the pod's own service account, mounted into config-sync only.
    const inCluster = pod('default-values.yaml');
    t.ok(inCluster.volumes.some((v: Manifest) => v.name === 'kube-api-access'));
  },
);

t.test('NOTES.txt tells how to reach the app through its Service', async (t) => {
  const { stdout } = await helm(['install', 'legacy', chart, '--dry-run=client', '-n', 'shop']);
  const notes = stdout.slice(stdout.indexOf('NOTES:'));
  const service = rendered.get('default-values.yaml')?.find((m) => m.kind === 'Service');
  const https = service?.spec.ports.find((p: { name: string }) => p.name === 'https');
  t.match(notes, `kubectl -n shop port-forward svc/${service?.metadata.name} 8443:${https.port}`);
  t.match(notes, `Metrics (metrics-exporter): port ${service?.spec.ports[1].port}, path /metrics`);
});

t.test('options become PODKIT_* ConfigMap keys; secrets come from existing Secrets', async (t) => {
  const manifests = rendered.get('all-components-values.yaml') ?? [];
  const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'legacy-podkit');
  t.equal(config?.data.PODKIT_TLS_PROXY_UPSTREAM, 'http://127.0.0.1:8080');
  t.equal(config?.data.PODKIT_CONFIG_SYNC_TARGET_DIR, '/etc/legacy');
  t.equal(config?.data.PODKIT_MYSQL_BROKER_PROVISION, 'true');
  const dbHealth = pod('all-components-values.yaml').initContainers.find(
    (c: Manifest) => c.name === 'db-health',
  );
  t.same(dbHealth.env, [
    {
      name: 'PODKIT_DB_HEALTH_MYSQL_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'legacy-db', key: 'password' } },
    },
  ]);
  const deployment = manifests.find((m) => m.kind === 'Deployment');
  t.match(deployment?.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/);
  const roles = manifests.filter((m) => m.kind === 'Role');
  const broker = roles.find((r) => r.metadata.name.endsWith('mysql-broker'));
  t.ok(
    broker?.rules.some((r: { verbs: string[] }) => r.verbs.includes('create')),
    'provisioning grants create',
  );
});

t.test("default values give metrics-exporter the app's /stats mapping as a mounted file", async (t) => {
  const manifests = rendered.get('default-values.yaml') ?? [];
  const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'legacy-podkit');
  t.equal(config?.data.PODKIT_METRICS_EXPORTER_JSON_URL, 'http://127.0.0.1:8080/stats');
  t.equal(config?.data.PODKIT_METRICS_EXPORTER_JSON_MAPPING_FILE, '/etc/metrics-exporter/stats-mapping.yml');
  const spec = pod('default-values.yaml');
  const exporter = spec.containers.find((c: Manifest) => c.name === 'metrics-exporter');
  t.same(exporter.volumeMounts, [
    { name: 'metrics-mapping', mountPath: '/etc/metrics-exporter', readOnly: true },
  ]);
  const volume = spec.volumes.find((v: Manifest) => v.name === 'metrics-mapping');
  const mapping = manifests.find(
    (m) => m.kind === 'ConfigMap' && m.metadata.name === volume?.configMap?.name,
  );
  // The chart's default is the example's mapping, so the two cannot drift apart.
  const example = await readFile(join(repoRoot, 'examples/legacy-app/stats-mapping.yml'), 'utf8');
  t.same(parseYaml(mapping?.data['stats-mapping.yml'] ?? ''), parseYaml(example));

  const own = await helmTemplate('legacy', chart, [
    '--set',
    'metricsExporter.options.jsonMappingFile=/etc/mine/mapping.yml',
  ]);
  const ownConfig = own.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'legacy-podkit');
  t.equal(
    ownConfig?.data.PODKIT_METRICS_EXPORTER_JSON_MAPPING_FILE,
    '/etc/mine/mapping.yml',
    "the user's own file wins",
  );
  t.notOk(
    own.some((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-metrics-mapping')),
    'no mapping ConfigMap when the user brings a file',
  );
});

t.test('a toggled-off component leaves no container, ConfigMap key or Role behind', async (t) => {
  const manifests = rendered.get('minimal-values.yaml') ?? [];
  t.same(
    pod('minimal-values.yaml').containers.map((c: Manifest) => c.name),
    ['app', 'tls-proxy'],
  );
  t.same(
    manifests.filter((m) => m.kind === 'Role' || m.kind === 'RoleBinding'),
    [],
  );
  const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'legacy-podkit');
  t.same(
    Object.keys(config?.data ?? {}).filter((key) => !key.startsWith('PODKIT_TLS_PROXY_')),
    [],
  );
});

t.test('a wrong value type fails with the schema message', async (t) => {
  const failure = await helmFailure(['template', 'legacy', chart, '--set', 'replicaCount=two']);
  t.match(failure.stderr, "at '/replicaCount': got string, want number");
});

t.test('native sidecars refuse a cluster older than Kubernetes 1.29', async (t) => {
  const failure = await helmFailure([
    'template',
    'legacy',
    chart,
    '--kube-version',
    '1.28.0',
    '--set',
    'tlsProxy.nativeSidecar=true',
  ]);
  t.match(failure.stderr, 'nativeSidecar (tls-proxy) needs Kubernetes >= 1.29, not v1.28.0');
  await helm(['template', 'legacy', chart, '--kube-version', '1.28.0']);
  t.pass('regular sidecars render for 1.28');
});

t.test('a misspelt key of a component block fails the install with its name', async (t) => {
  for (const [set, message] of [
    ['gitPull.enabeld=true', 'git-pull: unknown values key "enabeld"'],
    ['tlsProxy.optons.upstream=http://x', 'tls-proxy: unknown values key "optons"'],
    ['dbHealth.image.tg=1', 'db-health: unknown values key "image.tg"'],
  ] as const) {
    const failure = await helmFailure(['template', 'legacy', chart, '--set', set]);
    t.match(failure.stderr, message, set);
  }
});

t.test("a misspelt top-level key fails the install with its name; helm's global passes", async (t) => {
  for (const [set, message] of [
    ['replicaCont=2', 'values: unknown top-level key "replicaCont"'],
    ['tlsProxi.enabled=false', 'values: unknown top-level key "tlsProxi"'],
  ] as const) {
    const failure = await helmFailure(['template', 'legacy', chart, '--set', set]);
    t.match(failure.stderr, message, set);
  }
  await helm(['template', 'legacy', chart, '--set', 'global.imageRegistry=registry.example']);
  const helpers = await readFile(join(chart, 'templates/_helpers.tpl'), 'utf8');
  const listed = /define "legacy-app\.valuesKeys" -\}\}([^{]*)\{\{- end/.exec(helpers)?.[1];
  const defaults = parseYaml(await readFile(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  t.same(
    parseYaml(listed ?? 'null'),
    Object.keys(defaults).sort(),
    'legacy-app.valuesKeys lists the keys of values.yaml',
  );
});

t.test('values.schema.json and the README parameter tables are what readme-generator makes', async (t) => {
  t.same(await staleChartDocs(chart, t.testdir()), [], 'current (npm run docs writes them)');
});
