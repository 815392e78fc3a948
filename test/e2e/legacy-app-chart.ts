/**
 * The legacy-app chart as a real pod: `helm template` with test/e2e/legacy-app-values.yaml and the
 * images the images test just built (same tag), the Secrets the chart expects made here, then `podman
 * kube play`. From the host: HTTPS through tls-proxy with the test CA, over HTTP/1.1 and HTTP/2, mTLS
 * with the right and the wrong client certificate (pod-https.ts); config-sync reloads the app from the
 * fake kube-apiserver and rolls a bad config back (legacy-app-config-sync.ts); a note written over HTTPS
 * lands in the private MariaDB through mysql-broker, db-health reports that database ready and then its
 * failure, and every rendered probe answers from inside the pod (legacy-app-db-probes.ts); every
 * container exits 0 on SIGTERM within the grace period. Pods, volumes, the API server and the MariaDB
 * go in teardown.
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments, stringify } from 'yaml';
import { imageReference, imageSize } from '../../scripts/images.js';
import { repoRoot } from '../../scripts/repo-root.js';
import { CertificateAuthority } from '../support/certs.js';
import { helm } from '../support/helm.js';
import { httpRequest } from '../support/http.js';
import { podman, podmanResult } from '../support/images.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { configSyncTests } from './legacy-app-config-sync.js';
import { podDatabaseTests } from './legacy-app-db-probes.js';
import { podNetwork, startPodDatabase } from './pod-database.js';
import { http2Get, httpsCall, httpsGet, type TlsAnswer } from './pod-https.js';
import { kubeNamespace, startPodKube } from './pod-kube.js';

export interface ChartPodContext {
  id: string;
  tag: string;
  tempDir: (prefix: string) => string;
}

/** The values blocks of the components, each pointed at the image built with the test's tag. */
const imageBlocks = [
  'tlsProxy',
  'configSync',
  'logNormalizer',
  'metricsExporter',
  'mysqlBroker',
  'dbHealth',
  'gitPull',
  'trafficSplit',
] as const;

/** Kinds `podman kube play` acts on; the rest (Service, ...) a cluster needs and podman ignores. */
const playedKinds = new Set(['ConfigMap', 'Secret', 'Deployment']);

/** Kubernetes' default terminationGracePeriodSeconds (the chart sets none). */
const gracePeriodMs = 30_000;

interface Manifest {
  kind: string;
  metadata: { name: string };
}

interface PodTemplate {
  spec: {
    template: {
      spec: {
        containers: {
          name: string;
          image: string;
          volumeMounts?: { name: string }[];
          livenessProbe?: { httpGet?: { path: string; port: number } };
          readinessProbe?: { httpGet?: { path: string; port: number } };
          startupProbe?: { httpGet?: { path: string; port: number } };
        }[];
        volumes: {
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

/**
 * What the cluster would hold already: a Secret, played as a ConfigMap of the same name and keys
 * (see forPodman43), or a ConfigMap.
 */
function configMap(name: string, data: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
}

/**
 * podman 4.3 workarounds on the rendered pod, none needed by a cluster: a Secret volume crashes kube
 * play unless `optional` is set (containers/podman#16636), and with it set the files hold the base64
 * text, not the bytes, so Secret volumes are played from a ConfigMap of the same name; and an emptyDir
 * becomes a named volume called as in the pod (`logs`), shared by every pod on the machine and filled
 * with the image's files at that path (the app's image has /etc/legacy/app.conf, which would hide that
 * config-sync has not written it yet), so each emptyDir is played as an empty host directory of its own.
 */
function forPodman43(deployment: PodTemplate, emptyDir: (name: string) => string): void {
  for (const volume of deployment.spec.template.spec.volumes) {
    if (volume.secret) {
      volume.configMap = { name: volume.secret.secretName };
      delete volume.secret;
    } else if (volume.emptyDir) {
      volume.hostPath = { path: emptyDir(volume.name), type: 'Directory' };
      delete volume.emptyDir;
    }
  }
}

/** The named volumes kube play makes for this pod, one per ConfigMap, which kube down leaves. */
function volumesOf(manifests: Manifest[]): string[] {
  return manifests.filter((m) => m.kind === 'ConfigMap').map((m) => m.metadata.name);
}

async function removeVolumes(names: string[]): Promise<void> {
  await Promise.all(names.map((name) => podmanResult(['volume', 'rm', '--force', name])));
}

/** Resident memory of a container's processes (tini and what it runs), from the host's /proc, in KiB. */
async function containerRssKiB(name: string): Promise<number> {
  const rssOf = (pid: string): number => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
    return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) + children.reduce((sum, c) => sum + rssOf(c), 0);
  };
  return rssOf((await podman(['inspect', '--format', '{{.State.Pid}}', name])).trim());
}

export function chartPodTests(context: ChartPodContext): void {
  const { id, tag, tempDir } = context;
  const release = `e2e-${id}`;
  // kube play names a Deployment's pod <deployment>-pod-<replica>.
  const pod = `${release}-legacy-app-pod-0`;
  const container = (name: string) => `${pod}-${name}`;
  let manifestFile: string | undefined;
  let played = false;

  let volumes: string[] = [];

  t.teardown(async () => {
    if (manifestFile && played) await podmanResult(['kube', 'down', manifestFile]).catch(() => {});
    await removeVolumes(volumes);
  });

  t.test('legacy-app chart played by podman: HTTPS, config-sync, MariaDB, probes, stop', async (t) => {
    const ca = await CertificateAuthority.create('podkit e2e CA');
    const clientCa = await CertificateAuthority.create('podkit e2e client CA');
    const strangerCa = await CertificateAuthority.create('podkit e2e stranger CA');
    const server = await ca.localhost();
    const client = await clientCa.issue({ commonName: 'e2e-client', usage: 'client' });
    const stranger = await strangerCa.issue({ commonName: 'e2e-client', usage: 'client' });

    // A private copy of both charts: `helm dependency build` writes into the chart, and the chart tests
    // may build it at the same time.
    const work = tempDir('podkit-e2e-chart-');
    cpSync(join(repoRoot, 'charts'), join(work, 'charts'), {
      recursive: true,
      filter: (path) => !path.endsWith('/legacy-app/charts'),
    });
    const chart = join(work, 'charts', 'legacy-app');
    await helm(['dependency', 'build', chart]);

    const port = await freePort();
    const tags: Record<string, unknown> = Object.fromEntries(
      imageBlocks.map((block) => [block, { image: { tag } }]),
    );
    // Only loopback on the host: the pod's HTTPS port published as a hostPort with a hostIP.
    tags.tlsProxy = {
      image: { tag },
      ports: [{ name: 'https', containerPort: 8443, hostPort: port, hostIP: '127.0.0.1' }],
    };
    // The private MariaDB (legacy-app-db-probes.ts) starts on this port once the pod runs; its password
    // is the pod's Secret legacy-app-mysql, of this run only.
    const dbPort = await freePort();
    const dbPassword = `legacy-${randomBytes(12).toString('base64url')}`;
    const dbHost = `host.containers.internal:${dbPort}`;
    tags.mysqlBroker = { image: { tag }, options: { backends: dbHost } };
    tags.dbHealth = { image: { tag }, options: { mysqlUrl: `mysql://legacy@${dbHost}/legacy` } };
    // config-sync watches the chart's app ConfigMap in the fake kube-apiserver (pod-kube.ts), reached
    // the same way; its kubeconfig is the pod's Secret legacy-app-kube.
    const kubePort = await freePort();
    const podKube = await startPodKube(t, ca, kubePort);
    const appConfigMap = `${release}-legacy-app-config`;
    tags.configSync = { image: { tag }, options: { configmap: appConfigMap } };
    const tagValues = join(work, 'tags-values.yaml');
    writeFileSync(tagValues, stringify({ image: { tag }, ...tags }));
    const { stdout } = await helm([
      'template',
      release,
      chart,
      '-f',
      join(repoRoot, 'test/e2e/legacy-app-values.yaml'),
      '-f',
      tagValues,
    ]);
    const manifests = parseAllDocuments(stdout)
      .map((doc) => doc.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null && playedKinds.has(m.kind));
    const deployment = manifests.find((m) => m.kind === 'Deployment') as unknown as PodTemplate;
    // Writable by the containers' uid 65532, as an emptyDir is with the pod's fsGroup.
    forPodman43(deployment, (name) => {
      const dir = tempDir(`podkit-e2e-${name}-`);
      chmodSync(dir, 0o777);
      return dir;
    });
    const containers = deployment.spec.template.spec.containers;
    const containerNames = containers.map((c) => c.name);
    t.equal(containers[0]?.image, imageReference('legacy-app', tag), 'the app runs the image just built');
    for (const c of containers.slice(1)) t.equal(c.image, imageReference(c.name, tag), `so does ${c.name}`);

    const tls = configMap('legacy-app-tls', {
      'tls.crt': server.chainPem,
      'tls.key': server.keyPem,
      'ca.crt': clientCa.certPem,
    });
    // metrics-exporter's /stats mapping is the chart's own ConfigMap (metricsExporter.statsMapping).
    const mysqlSecret = configMap('legacy-app-mysql', { password: dbPassword });
    const kubeSecret = configMap('legacy-app-kube', { kubeconfig: podKube.kubeconfig });
    // What `helm install` would have created in the cluster config-sync watches.
    const rendered = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === appConfigMap) as
      | (Manifest & { data: Record<string, string> })
      | undefined;
    if (!rendered) throw new Error(`no ConfigMap ${appConfigMap} rendered`);
    podKube.kube.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: appConfigMap, namespace: kubeNamespace },
      data: rendered.data,
    });
    const toPlay = [tls, mysqlSecret, kubeSecret, ...manifests] as Manifest[];
    volumes = volumesOf(toPlay);
    manifestFile = join(work, 'pod.yaml');
    writeFileSync(manifestFile, toPlay.map((m) => stringify(m)).join('---\n'));

    played = true;
    const play = await podmanResult(['kube', 'play', manifestFile], { timeoutMs: 180_000 });
    if (play.code !== 0)
      throw new Error(`podman kube play exited ${play.code}: ${play.stderr.slice(0, 4000)}`);
    // The pod's way to the host (its network's gateway) exists now: the API server and the database
    // listen there too. config-sync and mysql-broker retry until they do.
    const { gateway } = await podNetwork(pod);
    await podKube.forwardFrom(gateway);
    const database = await startPodDatabase(t, pod, dbPort, dbPassword);

    const logsOf = async () => {
      const logs = await Promise.all(
        containerNames.map(async (name) => {
          const text = await podman(['logs', container(name)]).catch((e: Error) => e.message);
          return `--- ${name}\n${text}`;
        }),
      );
      return logs.join('\n');
    };

    const origin = `https://localhost:${port}`;
    let answer: TlsAnswer | undefined;
    await waitFor(
      async () => {
        answer = await httpsGet(`${origin}/`, ca.certPem, client).catch(() => undefined);
        return answer?.status === 200;
      },
      // The app starts once config-sync has written its config (it restarts until then).
      { timeoutMs: 120_000, intervalMs: 250, what: 'HTTPS through the pod' },
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await logsOf()}`);
    });
    t.equal(answer?.body, "Hello from the chart's pod\n", "the app's greeting from the chart's app.conf");

    const h2 = await http2Get(origin, ca.certPem, client);
    t.same(h2, { status: 200, body: "Hello from the chart's pod\n", alpn: 'h2' }, 'HTTP/2 through the proxy');

    // With --client-auth require the handshake completes and the proxy answers 403 itself.
    const anonymous = await httpsGet(`${origin}/`, ca.certPem);
    t.equal(anonymous.status, 403, 'no client certificate: 403 from the proxy');
    t.notMatch(anonymous.body, /Hello/, 'the app is not reached');
    const strangerAnswer = await httpsGet(`${origin}/`, ca.certPem, stranger);
    t.equal(strangerAnswer.status, 403, 'a client certificate from another CA: 403');
    t.notMatch(strangerAnswer.body, /Hello/, 'the app is not reached');
    await t.rejects(
      httpsGet(`${origin}/`, strangerCa.certPem, client),
      { code: 'SELF_SIGNED_CERT_IN_CHAIN' },
      'a client trusting another CA refuses the server',
    );

    // metrics-exporter in the pod maps the app's /stats (the requests above counted); podman publishes
    // the chart's admin containerPorts on the host.
    let requests = 0;
    await waitFor(
      async () => {
        const scrape = await httpRequest('http://127.0.0.1:9407/metrics').catch(() => undefined);
        requests = Number(/^legacy_requests_total (\d+)$/m.exec(scrape?.body ?? '')?.[1] ?? 0);
        return requests >= 2;
      },
      { timeoutMs: 30_000, what: "metrics-exporter's legacy_requests_total counting the requests above" },
    );
    t.ok(requests >= 2, `legacy_requests_total ${requests}: the app's own count, mapped`);

    // The app's log files, read from the shared emptyDir, come out of log-normalizer's stdout as JSON.
    const appLog = async () =>
      (await podman(['logs', container('log-normalizer')]))
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((record) => record.source === '/var/log/legacy/info.log');
    let records: Record<string, unknown>[] = [];
    await waitFor(
      async () => {
        records = await appLog();
        return records.some((record) => /listening on 127\.0\.0\.1:8080/.test(String(record.msg)));
      },
      { timeoutMs: 30_000, what: "the app's start-up line on log-normalizer's stdout" },
    );
    t.match(records[0], { level: 'info', time: String }, 'JSON records with the level from the file name');

    const https = (method: string, path: string, body?: string) =>
      httpsCall(method, `${origin}${path}`, ca.certPem, client, body);
    await configSyncTests(t, { kube: podKube.kube, configMap: appConfigMap, container, https, appLog });
    await podDatabaseTests(t, { containers, container, database, https });

    // What each container holds once started and served (docs/performance.md keeps the figures).
    const baseSize = imageSize('podman', imageReference('base', tag));
    for (const c of containers) {
      const own = imageSize('podman', c.image) - baseSize;
      t.comment(`RSS ${c.name}: ${await containerRssKiB(container(c.name))} KiB, own layer ${own} B`);
    }

    // A pod being deleted: the kubelet sends SIGTERM to every container, waits the grace period, and
    // removes the sandbox last; `podman stop --time` on the containers does the same (4.3's kube down alone
    // kills at once, and `podman pod stop` may stop the infra container first: with a shared PID
    // namespace it is PID 1, and its exit SIGKILLs the rest). Each container must exit 0, well within
    // the grace period; then kube down removes the pod.
    const started = Date.now();
    await podman(['stop', '--time', String(gracePeriodMs / 1000), ...containerNames.map(container)], {
      timeoutMs: 120_000,
    });
    const elapsed = Date.now() - started;
    const states = JSON.parse(await podman(['inspect', ...containerNames.map(container)])) as {
      Name: string;
      State: { ExitCode: number };
    }[];
    const exitCodes = Object.fromEntries(states.map((c) => [c.Name.slice(pod.length + 1), c.State.ExitCode]));
    t.same(
      exitCodes,
      Object.fromEntries(containerNames.map((name) => [name, 0])),
      'every container exits 0 on SIGTERM (137 would be a SIGKILL)',
    );
    // What a container that did not exit 0 said last, for whoever reads a failure.
    for (const [name, code] of Object.entries(exitCodes)) {
      if (code === 0) continue;
      const logs = await podmanResult(['logs', '--tail', '20', container(name)]);
      t.comment(`${name} exited ${code}; its last lines:\n${logs.stdout}${logs.stderr}`);
    }
    t.ok(elapsed < gracePeriodMs, `stopped in ${elapsed} ms, within the grace period`);
    const down = await podmanResult(['kube', 'down', manifestFile], { timeoutMs: 120_000 });
    played = false;
    t.equal(down.code, 0, 'podman kube down removes the pod', { stderr: down.stderr });
    t.equal((await podmanResult(['pod', 'exists', pod])).code, 1, 'the pod is gone');
    await removeVolumes(volumes);
    const left = await Promise.all(volumes.map((name) => podmanResult(['volume', 'exists', name])));
    t.same(
      left.map((result) => result.code),
      volumes.map(() => 1),
      "none of the pod's volumes is left",
    );
  });
}
