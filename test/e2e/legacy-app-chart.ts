/**
 * The legacy-app chart as a real pod: `helm template` with test/e2e/legacy-app-values.yaml and the
 * images the images test just built (same tag), the Secret the chart expects made here from the test
 * CA, then `podman kube play`. From the host: HTTPS through tls-proxy with the test CA, over HTTP/1.1
 * and HTTP/2, mTLS with the right and the wrong client certificate; `podman kube down` stops every
 * container with exit code 0 within the grace period. Pods, secrets and volumes go in teardown.
 */

import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments, stringify } from 'yaml';
import { imageReference } from '../../scripts/images.js';
import { repoRoot } from '../../scripts/repo-root.js';
import { CertificateAuthority, type IssuedCert } from '../support/certs.js';
import { helm } from '../support/helm.js';
import { httpRequest } from '../support/http.js';
import { podman, podmanResult } from '../support/images.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

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
        containers: { name: string; image: string; volumeMounts?: { name: string }[] }[];
        volumes: {
          name: string;
          secret?: { secretName: string };
          configMap?: { name: string };
          emptyDir?: object;
        }[];
      };
    };
  };
}

interface TlsAnswer {
  status: number;
  body: string;
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
 * text, not the bytes, so Secret volumes are played from a ConfigMap of the same name; and emptyDir
 * volumes become named volumes called as in the pod (`logs`), shared by every pod on the machine, so
 * they get this release's prefix.
 */
function forPodman43(deployment: PodTemplate, release: string): void {
  const spec = deployment.spec.template.spec;
  const renamed = new Map<string, string>();
  for (const volume of spec.volumes) {
    if (volume.secret) {
      volume.configMap = { name: volume.secret.secretName };
      delete volume.secret;
    } else if (volume.emptyDir) {
      renamed.set(volume.name, `${release}-${volume.name}`);
      volume.name = `${release}-${volume.name}`;
    }
  }
  for (const container of spec.containers) {
    for (const mount of container.volumeMounts ?? []) mount.name = renamed.get(mount.name) ?? mount.name;
  }
}

/** GET over HTTPS trusting only `ca`, presenting `client` if given, on a fresh connection. */
function httpsGet(url: string, ca: string, client?: IssuedCert): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const options = { ca, cert: client?.chainPem, key: client?.keyPem, agent: false, timeout: 5_000 };
    const req = httpsRequest(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET / over HTTP/2 (ALPN h2 only), with the client certificate. */
function http2Get(origin: string, ca: string, client: IssuedCert): Promise<TlsAnswer & { alpn: string }> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(origin, {
      ca,
      cert: client.chainPem,
      key: client.keyPem,
      ALPNProtocols: ['h2'],
    });
    session.on('error', reject);
    const stream = session.request({ ':path': '/' });
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('data', (chunk) => {
      body += chunk;
    });
    stream.on('end', () => {
      const alpn = session.alpnProtocol ?? '';
      session.close();
      resolve({ status, body, alpn });
    });
    stream.on('error', reject);
  });
}

/** The named volumes kube play makes for this pod: one per ConfigMap and per emptyDir. kube down leaves
 * the ConfigMap ones. */
function volumesOf(manifests: Manifest[], deployment: PodTemplate): string[] {
  const configMaps = manifests.filter((m) => m.kind === 'ConfigMap').map((m) => m.metadata.name);
  const emptyDirs = deployment.spec.template.spec.volumes.filter((v) => v.emptyDir).map((v) => v.name);
  return [...configMaps, ...emptyDirs];
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

  t.test('legacy-app chart: helm template, podman kube play, HTTPS and mTLS from the host', async (t) => {
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
    forPodman43(deployment, release);
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
    const toPlay = [tls, ...manifests] as Manifest[];
    volumes = volumesOf(toPlay, deployment);
    manifestFile = join(work, 'pod.yaml');
    writeFileSync(manifestFile, toPlay.map((m) => stringify(m)).join('---\n'));

    played = true;
    const play = await podmanResult(['kube', 'play', manifestFile], { timeoutMs: 180_000 });
    if (play.code !== 0)
      throw new Error(`podman kube play exited ${play.code}: ${play.stderr.slice(0, 4000)}`);

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
      { timeoutMs: 60_000, intervalMs: 250, what: 'HTTPS through the pod' },
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
    let records: Record<string, unknown>[] = [];
    await waitFor(
      async () => {
        records = (await podman(['logs', container('log-normalizer')]))
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((record) => record.source === '/var/log/legacy/info.log');
        return records.some((record) => /listening on 127\.0\.0\.1:8080/.test(String(record.msg)));
      },
      { timeoutMs: 30_000, what: "the app's start-up line on log-normalizer's stdout" },
    );
    t.match(records[0], { level: 'info', time: String }, 'JSON records with the level from the file name');

    // What each container holds once started and served (docs/performance.md keeps the figures).
    for (const name of containerNames)
      t.comment(`RSS ${name}: ${await containerRssKiB(container(name))} KiB`);

    // A pod being deleted: the kubelet sends SIGTERM and waits the grace period; `podman pod stop
    // --time` does the same (podman 4.3's kube down alone kills them at once: exit 137). Each container must
    // exit 0, well within the grace period; then kube down removes the pod.
    const started = Date.now();
    await podman(['pod', 'stop', '--time', String(gracePeriodMs / 1000), pod], { timeoutMs: 120_000 });
    const elapsed = Date.now() - started;
    const states = JSON.parse(await podman(['inspect', ...containerNames.map(container)])) as {
      Name: string;
      State: { ExitCode: number };
    }[];
    t.same(
      Object.fromEntries(states.map((c) => [c.Name.slice(pod.length + 1), c.State.ExitCode])),
      Object.fromEntries(containerNames.map((name) => [name, 0])),
      'every container exits 0 on SIGTERM (137 would be a SIGKILL)',
    );
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
