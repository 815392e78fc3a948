/**
 * The ftgo chart as real pods: `helm template` with the images the images test just built, played with
 * `podman kube play`, one pod per service and order-v2 (10% canary), each with its podkit containers.
 * MariaDB and RabbitMQ are the test's own servers on the host (test/support), reached from the pods at
 * the kube network's gateway: no image can be pulled here, and they start in seconds (charts/ftgo/README.md).
 * podman ignores Services, so the service pods are played first and the gateway's pod is given their
 * addresses. From the host, over HTTPS through tls-proxy with a token: a consumer, an order APPROVED by
 * the saga across the pods; traffic-split's metrics show Order requests answered by both versions.
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import t from 'tap';
import { parseAllDocuments, stringify } from 'yaml';
import { type FtgoService, ftgoPorts } from '../../examples/ftgo/common/src/services.js';
import { repoRoot } from '../../scripts/repo-root.js';
import { CertificateAuthority } from '../support/certs.js';
import { helm } from '../support/helm.js';
import { httpRequest } from '../support/http.js';
import { podman, podmanResult } from '../support/images.js';
import { startMariaDb } from '../support/mariadb.js';
import { freePort } from '../support/ports.js';
import { startRabbitMq } from '../support/rabbitmq.js';
import { waitFor } from '../support/wait.js';
import { orderRequest, restaurantRequest } from './ftgo-order.js';
import { hostPattern, podNetwork } from './pod-database.js';
import { httpsCall } from './pod-https.js';

interface Container {
  name: string;
  image: string;
  ports?: object[];
  startupProbe?: object;
  livenessProbe?: object;
  readinessProbe?: object;
}

interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    template: {
      spec: {
        containers: Container[];
        volumes?: {
          name: string;
          secret?: { secretName: string };
          configMap?: { name: string };
          emptyDir?: object;
          hostPath?: { path: string; type: string };
        }[];
      };
    };
  };
}

const kubeNetwork = 'podman-default-kube-network';
const podkitBlocks = [
  'mysqlBroker',
  'metricsExporter',
  'logNormalizer',
  'tlsProxy',
  'trafficSplit',
  'dbHealth',
];

/** The kube network's gateway, where the pods reach the host (created as kube play would, if missing). */
async function kubeGateway(): Promise<{ gateway: string; subnet: string }> {
  if ((await podmanResult(['network', 'exists', kubeNetwork])).code !== 0)
    await podman(['network', 'create', kubeNetwork]);
  const [network] = JSON.parse(await podman(['network', 'inspect', kubeNetwork])) as {
    subnets: { subnet: string; gateway: string }[];
  }[];
  const v4 = network?.subnets.find((s) => s.gateway.includes('.'));
  if (!v4) throw new Error(`${kubeNetwork} has no IPv4 subnet`);
  return v4;
}

/**
 * What podman 4.3 needs of a rendered pod, none of it needed by a cluster: Secret volumes played from a
 * ConfigMap of the same name (legacy-app-chart.ts says why), each emptyDir an empty host directory of its
 * own, and no containerPorts or probes: kube play publishes every containerPort on the host (nine pods
 * would claim the same admin ports) and runs probes as curl in containers that have none.
 */
function forPodman43(deployment: Manifest, emptyDir: () => string): void {
  const spec = deployment.spec?.template.spec;
  if (!spec) throw new Error(`${deployment.metadata.name}: no pod template`);
  for (const volume of spec.volumes ?? []) {
    if (volume.secret) {
      volume.configMap = { name: volume.secret.secretName };
      delete volume.secret;
    } else if (volume.emptyDir) {
      volume.hostPath = { path: emptyDir(), type: 'Directory' };
      delete volume.emptyDir;
    }
  }
  for (const c of spec.containers) {
    delete c.ports;
    delete c.startupProbe;
    delete c.livenessProbe;
    delete c.readinessProbe;
  }
}

/** A podman secret as kube play 4.3 reads a secretKeyRef: JSON of key -> base64 value. */
async function podmanSecret(name: string, data: Record<string, string>, file: string): Promise<void> {
  const encoded = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
  writeFileSync(file, JSON.stringify(encoded), { mode: 0o600 });
  await podman(['secret', 'create', name, file]);
}

export function ftgoChartTests(context: {
  id: string;
  tag: string;
  tempDir: (prefix: string) => string;
}): void {
  const { id, tag, tempDir } = context;
  const release = `ftgo-${id}`;
  const secrets = [`${release}-db`, `${release}-amqp`, `${release}-jwt`];
  const played: string[] = [];
  const volumes: string[] = [];

  t.teardown(async () => {
    for (const file of played.reverse()) await podmanResult(['kube', 'down', file]).catch(() => {});
    await podmanResult(['secret', 'rm', ...secrets]).catch(() => {});
    await Promise.all(volumes.map((name) => podmanResult(['volume', 'rm', '--force', name])));
  });

  t.test(
    'ftgo chart played by podman: an order APPROVED over HTTPS, the Order canary in the metrics',
    async (t) => {
      const work = tempDir('podkit-e2e-ftgo-');
      cpSync(join(repoRoot, 'charts'), join(work, 'charts'), {
        recursive: true,
        filter: (path) => !/\/(legacy-app|ftgo)\/charts$/.test(path),
      });
      const chart = join(work, 'charts', 'ftgo');
      await helm(['dependency', 'build', chart]);

      const { gateway, subnet } = await kubeGateway();
      const [db, broker] = await Promise.all([
        startMariaDb(t, { args: [`--bind-address=127.0.0.1,${gateway}`] }),
        startRabbitMq(t, { listen: [gateway] }),
      ]);
      const dbPassword = randomBytes(12).toString('base64url');
      const pods = hostPattern(subnet);
      await db.query(`CREATE USER 'ftgo'@'${pods}' IDENTIFIED BY ?`, [dbPassword]);
      await db.query(`GRANT ALL ON \`ftgo\\_%\`.* TO 'ftgo'@'${pods}'`);
      await db.query(`CREATE USER 'podkit-health'@'${pods}'`);
      const jwtSecret = randomBytes(24).toString('base64url');
      await podmanSecret(secrets[0] ?? '', { 'mariadb-password': dbPassword }, join(work, 'db.json'));
      const amqpUrl = broker.url.replace('@127.0.0.1:', `@${gateway}:`);
      await podmanSecret(secrets[1] ?? '', { 'amqp-url': amqpUrl }, join(work, 'amqp.json'));
      await podmanSecret(secrets[2] ?? '', { 'jwt-secret': jwtSecret }, join(work, 'jwt.json'));

      const values = {
        imageTag: tag,
        ...Object.fromEntries(podkitBlocks.map((block) => [block, { image: { tag } }])),
        mysqlBroker: { image: { tag }, options: { backends: `${gateway}:${db.port}` } },
        mariadb: { auth: { existingSecret: secrets[0] } },
        rabbitmq: { auth: { existingSecret: secrets[1] } },
        apiGateway: { jwt: { existingSecret: secrets[2] }, tls: { existingSecret: `${release}-tls` } },
        order: { canary: { mode: 'split', weight: 10 } },
      };
      const valuesFile = join(work, 'values.yaml');
      writeFileSync(valuesFile, stringify(values));
      const { stdout } = await helm(['template', release, chart, '-f', valuesFile]);
      const manifests = parseAllDocuments(stdout)
        .map((doc) => doc.toJS() as Manifest | null)
        .filter((m): m is Manifest => m !== null);
      const configMap = (suffix: string) => {
        const found = manifests.find(
          (m) => m.kind === 'ConfigMap' && m.metadata.name === `${release}-${suffix}`,
        );
        if (!found?.data) throw new Error(`no ConfigMap ${release}-${suffix}`);
        return found;
      };
      const deployments = manifests.filter((m) => m.kind === 'Deployment');
      const hostDir = () => {
        const dir = tempDir('podkit-e2e-ftgo-vol-');
        chmodSync(dir, 0o777);
        return dir;
      };
      for (const deployment of deployments) forPodman43(deployment, hostDir);
      const gatewayName = `${release}-api-gateway`;
      const services = deployments.filter((m) => m.metadata.name !== gatewayName);
      const gatewayDeployment = deployments.find((m) => m.metadata.name === gatewayName);
      if (!gatewayDeployment) throw new Error('no gateway Deployment rendered');
      for (const c of services[0]?.spec?.template.spec.containers ?? [])
        t.ok(c.image.endsWith(`:${tag}`), `${c.name} runs the image just built`);
      t.equal(services.length, 8, 'seven services and order-v2');

      const play = async (name: string, objects: object[]) => {
        const file = join(work, `${name}.yaml`);
        writeFileSync(file, objects.map((m) => stringify(m)).join('---\n'));
        played.push(file);
        const result = await podmanResult(['kube', 'play', file], { timeoutMs: 300_000 });
        if (result.code !== 0)
          throw new Error(`kube play ${name} exited ${result.code}: ${result.stderr.slice(0, 4000)}`);
      };
      const shared = [configMap('podkit'), configMap('env'), configMap('metrics-mapping')];
      volumes.push(`${release}-metrics-mapping`, `${release}-tls`);
      await play('services', [...shared, ...services]);

      // Services are not played: the gateway pod gets each service pod's address instead of its Service.
      const address = new Map<string, string>();
      for (const service of services) {
        const part = service.metadata.name.slice(release.length + 1);
        const { subnet: podSubnet } = await podNetwork(`${service.metadata.name}-pod-0`);
        address.set(part, podSubnet.split('/')[0] ?? '');
      }
      const env = structuredClone(configMap('env'));
      for (const [key, value] of Object.entries(env.data ?? {})) {
        const match = new RegExp(`^http://${release}-([a-z0-9-]+):(\\d+)$`).exec(value);
        if (key.endsWith('_SERVICE_URL') && match?.[1] && address.has(match[1]))
          (env.data as Record<string, string>)[key] = `http://${address.get(match[1])}:${match[2]}`;
      }
      t.same(
        Object.entries(env.data ?? {}).filter(
          ([key, value]) => key.endsWith('_SERVICE_URL') && !/^http:\/\/[\d.]+:\d+$/.test(value),
        ),
        [],
        'the gateway finds each service at its pod address (Order at traffic-split on loopback)',
      );
      const podkit = structuredClone(configMap('podkit'));
      const options = podkit.data as Record<string, string>;
      options.PODKIT_TRAFFIC_SPLIT_PRIMARY = `http://${address.get('order')}:8082`;
      options.PODKIT_TRAFFIC_SPLIT_VARIANT = `v2=http://${address.get('order-v2')}:8082:10`;
      // Only loopback on the host: tls-proxy's HTTPS port and traffic-split's admin port.
      const httpsPort = await freePort();
      const splitAdmin = await freePort();
      for (const c of gatewayDeployment.spec?.template.spec.containers ?? []) {
        if (c.name === 'tls-proxy')
          c.ports = [{ containerPort: 8443, hostPort: httpsPort, hostIP: '127.0.0.1' }];
        if (c.name === 'traffic-split')
          c.ports = [{ containerPort: 9405, hostPort: splitAdmin, hostIP: '127.0.0.1' }];
      }
      const ca = await CertificateAuthority.create('podkit ftgo e2e CA');
      const server = await ca.localhost();
      const tls = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${release}-tls` },
        data: { 'tls.crt': server.chainPem, 'tls.key': server.keyPem },
      };
      await play('gateway', [podkit, env, configMap('metrics-mapping'), tls, gatewayDeployment]);

      const token = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(Buffer.from(jwtSecret));
      const api = async (method: string, path: string, body?: unknown) => {
        const answer = await httpsCall(
          method,
          `https://localhost:${httpsPort}${path}`,
          ca.certPem,
          undefined,
          body === undefined ? undefined : JSON.stringify(body),
          10_000,
          {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
        );
        return {
          status: answer.status,
          body: answer.body ? (JSON.parse(answer.body) as Record<string, unknown>) : {},
        };
      };
      const direct = async (part: string, port: number, method: string, path: string, body?: unknown) => {
        const answer = await httpRequest(`http://${address.get(part)}:${port}${path}`, {
          method,
          ...(body === undefined
            ? {}
            : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        });
        return {
          status: answer.status,
          body: answer.body ? (JSON.parse(answer.body) as Record<string, unknown>) : {},
        };
      };

      // Whoever reads a failure sees each container's state and last lines.
      const diagnose = async (err: unknown) => {
        const ps = await podmanResult([
          'ps',
          '-a',
          '--filter',
          `name=${release}`,
          '--format',
          '{{.Names}} {{.Status}}',
        ]);
        const lines = [ps.stdout];
        for (const name of ps.stdout
          .split('\n')
          .map((l) => l.split(' ')[0])
          .filter((n) => n && !n.endsWith('-infra'))) {
          const logs = await podmanResult(['logs', '--tail', '8', name ?? '']);
          lines.push(`--- ${name}\n${logs.stdout}${logs.stderr}`);
        }
        t.comment(lines.join('\n'));
        throw err;
      };
      // What the Services would wait for (podman plays none, and the probes are left out): every service
      // pod ready, order-v2 too, so traffic-split's share does not land on a pod still starting.
      for (const part of address.keys()) {
        const port = ftgoPorts[`${part.replace(/-v2$/, '')}-service` as FtgoService];
        const url = `http://${address.get(part)}:${port}/readyz`;
        await waitFor(async () => (await httpRequest(url).catch(() => undefined))?.status === 200, {
          timeoutMs: 240_000,
          intervalMs: 1000,
          what: `${part} ready`,
        }).catch(diagnose);
      }
      let consumerId = 0;
      await waitFor(
        async () => {
          const answer = await api('POST', '/consumers', {
            name: { firstName: 'John', lastName: 'Doe' },
          }).catch(() => undefined);
          consumerId = Number(answer?.status === 200 ? answer.body.consumerId : 0);
          return consumerId > 0;
        },
        {
          timeoutMs: 240_000,
          intervalMs: 1000,
          what: 'a consumer created through tls-proxy and the gateway',
        },
      ).catch(diagnose);
      // The gateway has no restaurant route (as the original's): the restaurant pod directly.
      let restaurantId = 0;
      await waitFor(
        async () => {
          const answer = await direct('restaurant', 8084, 'POST', '/restaurants', restaurantRequest).catch(
            () => undefined,
          );
          restaurantId = Number(answer?.status === 200 ? answer.body.id : 0);
          return restaurantId > 0;
        },
        { timeoutMs: 120_000, intervalMs: 1000, what: 'a restaurant created' },
      );
      await waitFor(
        async () =>
          (await direct('order', 8082, 'GET', `/restaurants/${restaurantId}`).catch(() => undefined))
            ?.status === 200,
        { timeoutMs: 60_000, what: 'the restaurant replicated in Order' },
      );
      const placed = await api('POST', '/orders', orderRequest(consumerId, restaurantId));
      t.equal(placed.status, 200, 'order placed over HTTPS through the gateway', { body: placed.body });
      if (placed.status !== 200) await diagnose(new Error(`POST /orders: ${placed.status}`));
      const orderId = placed.body.orderId as number;
      let approved: Record<string, unknown> = {};
      await waitFor(
        async () => {
          approved = (await api('GET', `/orders/${orderId}`)).body;
          return (approved.orderInfo as { state?: string } | undefined)?.state === 'APPROVED';
        },
        { timeoutMs: 90_000, intervalMs: 500, what: 'the order APPROVED' },
      );
      t.match(
        approved,
        { orderInfo: { state: 'APPROVED', orderTotal: '61.70' }, billInfo: { state: 'AUTHORIZED' } },
        'approved: the saga ran across the pods, the card authorized',
      );

      // Order reads through traffic-split: at 10%, 100 requests reach order-v2 but for a chance of 3e-5.
      for (let i = 0; i < 100; i++) t.equal((await api('GET', `/orders/${orderId}`)).status, 200);
      const scrape = (await httpRequest(`http://127.0.0.1:${splitAdmin}/metrics`)).body;
      const answered = (variant: string) =>
        [
          ...scrape.matchAll(
            new RegExp(
              `^podkit_traffic_split_requests_total\\{[^}]*variant="${variant}"[^}]*\\} (\\d+)`,
              'gm',
            ),
          ),
        ]
          .map((m) => Number(m[1]))
          .reduce((a, b) => a + b, 0);
      const [primary, canary] = [answered('primary'), answered('v2')];
      t.ok(
        canary > 0 && primary > canary,
        `primary ${primary}, order-v2 ${canary}: the canary takes a share`,
      );
      t.match(scrape, /^podkit_traffic_split_variant_weight_percent\{variant="v2"\} 10$/m, 'at 10%');
    },
  );
}
