/**
 * The ftgo chart with the real helm: lint --strict, every ci/ values file rendered and every object
 * checked against its Kubernetes schema (no unknown field), then what a user of the chart would notice:
 * each service pod's podkit containers and its MySQL on 127.0.0.1:3306 through mysql-broker to MariaDB,
 * the gateway's Service on tls-proxy's port, the Order canary split vs mirror changing only
 * traffic-split's options, every podkit container's settings accepted by the component, secrets only
 * through Secrets, the security defaults, and a misspelt value failing the install.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Counter } from 'prom-client';
import { Registry } from 'prom-client';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { FamilyBuilder } from '../../adapters/metrics-exporter/src/families.js';
import { parseJsonMapping } from '../../adapters/metrics-exporter/src/json-mapping.js';
import { writeMapping } from '../../adapters/metrics-exporter/src/json-source.js';
import { createMetrics } from '../../adapters/metrics-exporter/src/metrics.js';
import { Skips } from '../../adapters/metrics-exporter/src/skips.js';
import { components, loadComponent } from '../../components.js';
import { commonOptions } from '../../lib/component.js';
import { createLogger } from '../../lib/log.js';
import { envVariables, knownEnvNames, parseOptions, unknownEnv } from '../../lib/options.js';
import { helm, helmFailure, helmTemplate, type Manifest, staleChartDocs } from '../support/helm.js';
import { schemaProblems } from '../support/kube-schema.js';
import {
  chart,
  container,
  databaseServices,
  environment,
  find,
  library,
  podOf,
  renderCiValues,
  workloads,
} from './ftgo-render.js';

let rendered = new Map<string, Manifest[]>();

t.before(async () => {
  rendered = await renderCiValues();
});

function manifests(file: string): Manifest[] {
  const found = rendered.get(file);
  if (!found) throw new Error(`${file} was not rendered`);
  return found;
}

t.test('helm lint --strict passes for the library and the chart', async (t) => {
  const { stdout } = await helm(['lint', '--strict', library, chart]);
  t.match(stdout, /2 chart\(s\) linted, 0 chart\(s\) failed/);
});

t.test('every ci/ values file renders and every object matches its Kubernetes schema', async (t) => {
  t.same([...rendered.keys()].sort(), [
    'canary-mirror-values.yaml',
    'canary-split-values.yaml',
    'default-values.yaml',
    'minimal-values.yaml',
  ]);
  for (const [file, list] of rendered) {
    t.ok(list.length > 20, `${file}: the whole release`);
    for (const manifest of list)
      t.same(await schemaProblems(manifest), [], `${file}: ${manifest.kind} ${manifest.metadata.name}`);
  }
});

t.test(
  'every service pod has the podkit containers; MySQL is 127.0.0.1:3306, brokered to MariaDB',
  async (t) => {
    const list = manifests('default-values.yaml');
    const podkit = find(list, 'ConfigMap', 'ftgo-podkit').data;
    t.equal(
      podkit.PODKIT_MYSQL_BROKER_LISTEN,
      '127.0.0.1:3306',
      'the broker listens where the services connect',
    );
    t.equal(podkit.PODKIT_MYSQL_BROKER_BACKENDS, 'ftgo-mariadb:3306', "and forwards to MariaDB's Service");
    const mariadb = find(list, 'Service', 'ftgo-mariadb');
    t.match(mariadb.spec.ports, [{ port: 3306, targetPort: 'mysql' }]);
    const statefulSet = find(list, 'StatefulSet', 'ftgo-mariadb');
    t.same(
      mariadb.spec.selector,
      statefulSet.spec.template.metadata.labels,
      'that Service selects the MariaDB pod',
    );
    t.same(
      statefulSet.spec.template.spec.containers.map((c: Manifest) => c.name),
      ['mariadb', 'db-health'],
      'db-health next to MariaDB',
    );
    t.equal(
      container(statefulSet.spec.template.spec, 'mariadb').readinessProbe.httpGet.port,
      components['db-health'].adminPort,
      "MariaDB's readiness is db-health's",
    );

    for (const [part, port] of [...Object.entries(databaseServices), ['order-v2', 8082] as const]) {
      const spec = podOf(list, 'Deployment', `ftgo-${part}`);
      const names = spec.containers.map((c: Manifest) => c.name);
      t.same(
        names.slice(1),
        ['mysql-broker', 'metrics-exporter', 'log-normalizer'],
        `${part}: podkit containers`,
      );
      const app = spec.containers[0];
      const env = environment(list, app);
      t.match(
        env,
        { MYSQL_HOST: '127.0.0.1', MYSQL_PORT: '3306', PORT: String(port) },
        `${part}: MySQL through the broker`,
      );
      t.equal(env.MYSQL_PASSWORD, '<ftgo-mariadb/mariadb-password>', `${part}: password from the Secret`);
      t.equal(env.AMQP_URL, '<ftgo-rabbitmq/amqp-url>', `${part}: AMQP URL from the Secret`);
      t.equal(
        env.LOG_FILE,
        `/var/log/ftgo/${app.name}.log`,
        `${part}: logs to the file log-normalizer reads`,
      );
      const exporter = environment(list, container(spec, 'metrics-exporter'));
      t.equal(
        exporter.PODKIT_METRICS_EXPORTER_JSON_URL,
        `http://127.0.0.1:${port}/readyz`,
        `${part}: its readiness`,
      );
      const service = find(list, 'Service', `ftgo-${part}`);
      t.match(service.spec.ports, [
        { name: 'http', port, targetPort: 'http' },
        { name: 'metrics', port: 9407 },
      ]);
      t.same(service.spec.selector, find(list, 'Deployment', `ftgo-${part}`).spec.selector.matchLabels);
    }
    t.equal(
      container(podOf(list, 'Deployment', 'ftgo-order-v2'), 'order-service').image,
      'localhost/podkit-ftgo-order-service:0.1.0',
      "order-v2 is Order's image",
    );
    // The gateway has no database: no broker, and tls-proxy and traffic-split instead.
    t.same(
      podOf(list, 'Deployment', 'ftgo-api-gateway').containers.map((c: Manifest) => c.name),
      ['api-gateway', 'metrics-exporter', 'log-normalizer', 'tls-proxy', 'traffic-split'],
    );
  },
);

t.test("metrics-exporter's mapping turns a service's /readyz into ftgo_service_ready 1 or 0", async (t) => {
  const text = find(manifests('default-values.yaml'), 'ConfigMap', 'ftgo-metrics-mapping').data[
    'ready-mapping.yml'
  ];
  const mapping = parseJsonMapping(text, undefined);
  t.same(mapping.validStatusCodes, [200, 503], 'a service that is not ready answers 503: still read');
  const registry = new Registry();
  const skips = new Skips(
    createMetrics(registry).skipped as Counter<'source' | 'reason'>,
    createLogger('test', 'silent'),
  );
  const value = (readyz: unknown) => {
    const out = new FamilyBuilder('json', skips);
    writeMapping(readyz, mapping, out);
    return out.families.get('ftgo_service_ready')?.samples.map((s) => s.value);
  };
  // What examples/ftgo/common/src/app.ts answers on /readyz.
  t.same(value({ status: 'UP' }), [1]);
  t.same(value({ status: 'DOWN' }), [0]);
});

t.test(
  "the gateway's Service points at tls-proxy's port, which proxies to the gateway on 127.0.0.1",
  async (t) => {
    const list = manifests('default-values.yaml');
    const spec = podOf(list, 'Deployment', 'ftgo-api-gateway');
    const service = find(list, 'Service', 'ftgo-api-gateway');
    t.equal(service.spec.type, 'ClusterIP');
    const https = service.spec.ports.find((p: Manifest) => p.name === 'https');
    t.equal(https.port, 443);
    const tlsProxy = container(spec, 'tls-proxy');
    const target = tlsProxy.ports.find((p: Manifest) => p.name === https.targetPort);
    t.equal(target?.containerPort, 8443, "the target port is tls-proxy's https port");
    const tlsEnv = environment(list, tlsProxy);
    t.equal(tlsEnv.PODKIT_TLS_PROXY_LISTEN, '0.0.0.0:8443', 'where tls-proxy listens');
    const gateway = environment(list, container(spec, 'api-gateway'));
    t.equal(tlsEnv.PODKIT_TLS_PROXY_UPSTREAM, `http://127.0.0.1:${gateway.PORT}`, 'upstream: the gateway');
    t.equal(gateway.HOST, '127.0.0.1', 'the gateway itself is out of reach from outside the pod');
    t.same(
      tlsProxy.volumeMounts,
      [{ name: 'tls', mountPath: '/tls', readOnly: true }],
      'the certificate from the Secret',
    );
    t.same(
      spec.volumes.find((v: Manifest) => v.name === 'tls'),
      { name: 'tls', secret: { secretName: 'ftgo-tls' } },
    );
    t.equal(gateway.ORDER_SERVICE_URL, 'http://127.0.0.1:8000', 'Order through traffic-split');
    t.equal(
      environment(list, container(spec, 'traffic-split')).PODKIT_TRAFFIC_SPLIT_LISTEN,
      '127.0.0.1:8000',
    );
    t.equal(gateway.CONSUMER_SERVICE_URL, 'http://ftgo-consumer:8081', 'the others through their Services');
    t.equal(gateway.JWT_SECRET, '<ftgo-jwt/jwt-secret>', 'tokens checked with the generated key');

    const nodePort = find(manifests('minimal-values.yaml'), 'Service', 'ftgo-api-gateway');
    t.equal(nodePort.spec.type, 'NodePort');
    t.same(
      nodePort.spec.ports,
      [{ name: 'http', port: 8087, targetPort: 'http', nodePort: 30443 }],
      'without tls-proxy: the gateway',
    );
  },
);

t.test("canary: split and mirror renders differ only in traffic-split's options", async (t) => {
  const split = manifests('canary-split-values.yaml');
  const mirror = manifests('canary-mirror-values.yaml');
  const key = (m: Manifest) => `${m.kind}/${m.metadata.name}`;
  t.same(split.map(key), mirror.map(key), 'the same objects');
  const differing = split.filter((m, i) => JSON.stringify(m) !== JSON.stringify(mirror[i])).map(key);
  t.same(
    differing,
    ['ConfigMap/ftgo-podkit', 'Deployment/ftgo-api-gateway'],
    'only the options and the pod reading them',
  );
  for (const name of ['ftgo-order', 'ftgo-order-v2'])
    t.same(find(split, 'Deployment', name), find(mirror, 'Deployment', name), `${name}: the same Deployment`);

  const splitOptions = find(split, 'ConfigMap', 'ftgo-podkit').data;
  const mirrorOptions = find(mirror, 'ConfigMap', 'ftgo-podkit').data;
  const changed = [...new Set([...Object.keys(splitOptions), ...Object.keys(mirrorOptions)])].filter(
    (k) => splitOptions[k] !== mirrorOptions[k],
  );
  t.same(changed.sort(), [
    'PODKIT_TRAFFIC_SPLIT_MIRROR',
    'PODKIT_TRAFFIC_SPLIT_MIRROR_MAX_BODY',
    'PODKIT_TRAFFIC_SPLIT_VARIANT',
  ]);
  t.equal(splitOptions.PODKIT_TRAFFIC_SPLIT_PRIMARY, 'http://ftgo-order:8082');
  t.equal(splitOptions.PODKIT_TRAFFIC_SPLIT_VARIANT, 'v2=http://ftgo-order-v2:8082:10', '10% to order-v2');
  t.equal(mirrorOptions.PODKIT_TRAFFIC_SPLIT_MIRROR, 'http://ftgo-order-v2:8082', 'a copy to order-v2');
  t.equal(mirrorOptions.PODKIT_TRAFFIC_SPLIT_MIRROR_MAX_BODY, '0', 'only requests without a body are copied');
  t.ok(find(split, 'Service', 'ftgo-order-v2'), 'order-v2 has its Service');

  const gateway = (list: Manifest[]) => structuredClone(find(list, 'Deployment', 'ftgo-api-gateway'));
  const [a, b] = [gateway(split), gateway(mirror)];
  t.not(
    a.spec.template.metadata.annotations['checksum/config'],
    b.spec.template.metadata.annotations['checksum/config'],
    'the gateway pod rolls',
  );
  delete a.spec.template.metadata.annotations['checksum/config'];
  delete b.spec.template.metadata.annotations['checksum/config'];
  t.same(a, b, 'and nothing else of it changes');

  const quarter = await helmTemplate('ftgo', chart, ['--set', 'order.canary.weight=25']);
  t.equal(
    find(quarter, 'ConfigMap', 'ftgo-podkit').data.PODKIT_TRAFFIC_SPLIT_VARIANT,
    'v2=http://ftgo-order-v2:8082:25',
  );
  const off = manifests('minimal-values.yaml');
  t.notOk(
    off.some((m) => m.metadata.name === 'ftgo-order-v2'),
    'mode off: no order-v2 Deployment or Service',
  );
});

t.test('every podkit container gets settings its component accepts, files from its mounts', async (t) => {
  const file = join(t.testdirName, 'a-file');
  t.testdir({ 'a-file': 'x' });
  const knownAnywhere = new Set<string>();
  for (const [name, entry] of Object.entries(components))
    for (const known of knownEnvNames(
      { ...commonOptions(entry.adminPort), ...(await entry.options()) },
      name,
    ))
      knownAnywhere.add(known);
  for (const [values, list] of rendered) {
    for (const workload of workloads(list)) {
      for (const c of workload.spec.template.spec.containers as Manifest[]) {
        const entry = components[c.name as keyof typeof components];
        if (!entry) continue;
        const where = `${values}: ${workload.metadata.name}/${c.name}`;
        const env = environment(list, c);
        const spec = { ...commonOptions(entry.adminPort), ...(await entry.options()) };
        // A variable of another component is ignored there without a word; none may be unknown to all.
        t.same(
          unknownEnv(spec, env, c.name).filter((n) => !knownAnywhere.has(n)),
          [],
          `${where}: every variable is one a component reads`,
        );
        for (const [key, option] of Object.entries(spec)) {
          if (option.kind !== 'file') continue;
          for (const { name } of envVariables(key, option, c.name)) {
            const path = env[name];
            if (path === undefined) continue;
            t.ok(
              (c.volumeMounts ?? []).some((m: Manifest) => path.startsWith(`${m.mountPath}/`)),
              `${where}: ${name} is on a volume it mounts`,
            );
            env[name] = file;
          }
        }
        const component = await loadComponent(c.name);
        t.doesNotThrow(() => {
          const parsed = parseOptions(spec, [], env, { component: c.name });
          component.check?.(parsed.values as never, parsed.given);
        }, `${where}: accepted`);
      }
    }
  }
});

t.test('secrets come from Secrets through valueFrom, never in a ConfigMap', async (t) => {
  const list = manifests('default-values.yaml');
  const secrets = list.filter((m) => m.kind === 'Secret');
  t.same(
    secrets.map((s) => s.metadata.name).sort(),
    ['ftgo-jwt', 'ftgo-mariadb', 'ftgo-rabbitmq'],
    'generated',
  );
  const values = secrets.flatMap((s) =>
    Object.values(s.data as Record<string, string>).map((v) => Buffer.from(v, 'base64').toString()),
  );
  const passwords = values.filter((v) => !v.startsWith('amqp://'));
  t.ok(
    passwords.every((p) => /^[A-Za-z0-9]{32,}$/.test(p)),
    'random, at least 32 characters',
  );
  const configMaps = JSON.stringify(list.filter((m) => m.kind === 'ConfigMap'));
  for (const password of passwords)
    t.notOk(configMaps.includes(password), 'a generated secret in no ConfigMap');
  t.notMatch(configMaps, /PASSWORD|AMQP_URL|JWT_SECRET/, 'no secret variable in a ConfigMap');
  const amqp = Buffer.from(find(list, 'Secret', 'ftgo-rabbitmq').data['amqp-url'], 'base64').toString();
  const password = Buffer.from(
    find(list, 'Secret', 'ftgo-rabbitmq').data['rabbitmq-password'],
    'base64',
  ).toString();
  t.equal(amqp, `amqp://ftgo:${password}@ftgo-rabbitmq:5672/`, "the services' URL has RabbitMQ's password");

  // Every secretKeyRef names a Secret and key that exist.
  for (const workload of workloads(list)) {
    for (const c of workload.spec.template.spec.containers as Manifest[]) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref) continue;
        t.ok(find(list, 'Secret', ref.name).data[ref.key], `${workload.metadata.name}/${c.name}: ${e.name}`);
      }
    }
  }
  const existing = manifests('canary-split-values.yaml');
  t.same(
    existing.filter((m) => m.kind === 'Secret'),
    [],
    'named Secrets: none generated',
  );
  const app = container(podOf(existing, 'Deployment', 'ftgo-order'), 'order-service');
  t.match(environment(existing, app), {
    MYSQL_PASSWORD: '<ftgo-db/mariadb-password>',
    AMQP_URL: '<ftgo-amqp/amqp-url>',
  });
  t.match(
    environment(existing, container(podOf(existing, 'Deployment', 'ftgo-api-gateway'), 'api-gateway')),
    {
      JWT_SECRET: '<ftgo-jwt-key/jwt-secret>',
    },
  );
});

t.test('security defaults: non-root, read-only root, no capabilities, seccomp, no API token', async (t) => {
  for (const [file, list] of rendered) {
    t.same(
      list.filter((m) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(m.kind)),
      [],
      `${file}: no ServiceAccount or RBAC`,
    );
    for (const workload of workloads(list)) {
      const spec = workload.spec.template.spec;
      const where = `${file}: ${workload.metadata.name}`;
      t.equal(spec.automountServiceAccountToken, false, `${where}: no token`);
      t.match(spec.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      const store = workload.kind === 'StatefulSet';
      for (const c of spec.containers as Manifest[]) {
        const uid = store && !(c.name in components) ? 999 : 65532;
        t.match(
          c.securityContext,
          {
            runAsNonRoot: true,
            runAsUser: uid,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          `${where}/${c.name}`,
        );
      }
    }
  }
});

t.test(
  'images: localhost/podkit-ftgo-<dir> at the appVersion; imageTag, a tag per service, the stores',
  async (t) => {
    const image = (list: Manifest[], kind: string, name: string) =>
      podOf(list, kind, name).containers[0].image;
    const list = manifests('default-values.yaml');
    t.equal(
      image(list, 'Deployment', 'ftgo-order-history'),
      'localhost/podkit-ftgo-order-history-service:0.1.0',
    );
    t.equal(image(list, 'Deployment', 'ftgo-api-gateway'), 'localhost/podkit-ftgo-api-gateway:0.1.0');
    t.equal(image(list, 'StatefulSet', 'ftgo-mariadb'), 'mariadb:11.4', 'the official images');
    t.equal(image(list, 'StatefulSet', 'ftgo-rabbitmq'), 'rabbitmq:3.13');
    const tagged = await helmTemplate('ftgo', chart, [
      '--set',
      'imageTag=2.0.0,kitchen.image.tag=2.1.0,order.canary.tag=3.0.0,mariadb.image.registry=mirror.example,mariadb.image.tag=11.8',
    ]);
    t.equal(image(tagged, 'Deployment', 'ftgo-consumer'), 'localhost/podkit-ftgo-consumer-service:2.0.0');
    t.equal(image(tagged, 'Deployment', 'ftgo-kitchen'), 'localhost/podkit-ftgo-kitchen-service:2.1.0');
    t.equal(image(tagged, 'Deployment', 'ftgo-order'), 'localhost/podkit-ftgo-order-service:2.0.0');
    t.equal(image(tagged, 'Deployment', 'ftgo-order-v2'), 'localhost/podkit-ftgo-order-service:3.0.0');
    t.equal(image(tagged, 'StatefulSet', 'ftgo-mariadb'), 'mirror.example/mariadb:11.8');
    t.equal(
      container(podOf(tagged, 'Deployment', 'ftgo-consumer'), 'mysql-broker').image,
      'localhost/podkit-mysql-broker:0.1.0',
      "podkit's images keep the appVersion",
    );
  },
);

t.test('without the optional podkit containers the services reach MariaDB and Order directly', async (t) => {
  const list = manifests('minimal-values.yaml');
  for (const part of Object.keys(databaseServices)) {
    const spec = podOf(list, 'Deployment', `ftgo-${part}`);
    t.equal(spec.containers.length, 1, `${part}: the service alone`);
    const env = environment(list, spec.containers[0]);
    t.equal(env.MYSQL_HOST, 'ftgo-mariadb', `${part}: MariaDB's Service`);
    t.notOk(env.LOG_FILE, `${part}: logs on stdout`);
    t.notOk(spec.volumes, `${part}: no volumes`);
  }
  const gateway = environment(list, podOf(list, 'Deployment', 'ftgo-api-gateway').containers[0]);
  t.equal(gateway.ORDER_SERVICE_URL, 'http://ftgo-order:8082');
  t.notOk(gateway.HOST, 'the gateway listens on every address');
  t.notOk(gateway.JWT_SECRET, 'no authentication');
  t.same(
    podOf(list, 'StatefulSet', 'ftgo-mariadb').containers[0].readinessProbe,
    { tcpSocket: { port: 'mysql' }, periodSeconds: 5 },
    'MariaDB probed on its port',
  );
  t.notOk(find(list, 'StatefulSet', 'ftgo-mariadb').spec.volumeClaimTemplates, 'no claims');
  t.match(find(manifests('default-values.yaml'), 'StatefulSet', 'ftgo-mariadb').spec.volumeClaimTemplates, [
    { metadata: { name: 'data' }, spec: { resources: { requests: { storage: '8Gi' } } } },
  ]);
});

t.test('a misspelt value or an unknown canary mode fails the install, naming it', async (t) => {
  for (const [set, message] of [
    ['order.canary.mdoe=mirror', 'values: unknown key "order.canary.mdoe"'],
    ['apiGateway.tls.existingSecrte=mine', 'values: unknown key "apiGateway.tls.existingSecrte"'],
    ['consumer.replicas=2', 'values: unknown key "consumer.replicas"'],
    ['replicaCount=2', 'values: unknown key "replicaCount"'],
    ['tlsProxy.optons.upstream=http://x', 'values: unknown key "tlsProxy.optons"'],
    ['mariadb.image.tg=11', 'values: unknown key "mariadb.image.tg"'],
    ['order.canary.mode=shadow', 'order.canary.mode: "shadow" is not split, mirror or off'],
    ['trafficSplit.enabled=false', 'order.canary.mode split needs trafficSplit.enabled'],
    ['mysqlBroker.options.discovery=kubernetes', 'mysql-broker discovery kubernetes is not supported'],
  ] as const) {
    const failure = await helmFailure(['template', 'ftgo', chart, '--set', set]);
    t.match(failure.stderr, message, set);
  }
  await helm(['template', 'ftgo', chart, '--set', 'global.imageRegistry=registry.example']);
  t.pass("helm's global passes");
});

t.test('a wrong value type fails with the schema message', async (t) => {
  const failure = await helmFailure(['template', 'ftgo', chart, '--set', 'order.canary.weight=ten']);
  t.match(failure.stderr, "at '/order/canary/weight': got string, want number");
});

t.test('the shape the chart checks values against is the shape of values.yaml', async (t) => {
  // A chart depending on ftgo renders the shape its helpers define (helm's defines are global).
  const dir = t.testdir({
    'Chart.yaml': [
      'apiVersion: v2',
      'name: shape',
      'version: 0.1.0',
      'dependencies:',
      '  - name: ftgo',
      '    version: 0.1.0',
      `    repository: file://${chart}`,
      '',
    ].join('\n'),
    templates: { 'shape.yaml': 'shape: {{ include "ftgo.valuesShape" . }}\n' },
  });
  await helm(['dependency', 'build', dir]);
  const { stdout } = await helm(['template', 'shape', dir, '--show-only', 'templates/shape.yaml']);
  const shape = (parseYaml(stdout) as { shape: unknown }).shape;
  const defaults = parseYaml(await readFile(join(chart, 'values.yaml'), 'utf8'));
  // values.yaml's keys, descending into every map the shape descends into (free-form maps are leaves).
  const keysLike = (values: unknown, like: unknown): unknown =>
    like !== null && typeof like === 'object' && values !== null && typeof values === 'object'
      ? Object.fromEntries(
          Object.entries(values).map(([k, v]) => [k, keysLike(v, (like as Record<string, unknown>)[k])]),
        )
      : 1;
  t.same(shape, keysLike(defaults, shape), 'ftgo.valuesShape has every key of values.yaml, and no other');
});

t.test('NOTES.txt tells how to reach the API over https and where the canary is', async (t) => {
  const { stdout } = await helm(['install', 'ftgo', chart, '--dry-run=client', '-n', 'food']);
  const notes = stdout.slice(stdout.indexOf('NOTES:'));
  t.match(notes, 'kubectl -n food port-forward svc/ftgo-api-gateway 8443:443');
  t.match(notes, "order-v2 answers 10% of the gateway's Order requests");
  t.match(notes, 'key jwt-secret of the Secret ftgo-jwt');
});

t.test('values.schema.json and the README parameter tables are what readme-generator makes', async (t) => {
  t.same(await staleChartDocs(chart, t.testdir()), [], 'current (npm run docs writes them)');
});
