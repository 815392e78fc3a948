/**
 * The images, built for real with podman from a locally made node base (no registry here), then run:
 * the base prints its version as uid 65532; what it carries, and the paths that load the packages it
 * ships, are checked in images-runtime.ts; the legacy app serves, reloads on SIGHUP through tini, and
 * stops cleanly on SIGTERM; every component image prints its version, runs as 65532 under tini and
 * refuses a bad flag with exit 2; in a real pod the legacy app answers HTTPS through the tls-proxy
 * sidecar and its workers, and git-pull publishes a repository into a volume; the legacy-app chart,
 * rendered by helm, runs as a pod with `podman kube play` (legacy-app-chart.ts), and the README's
 * `docker run` commands work with podman (readme-run.ts); the FTGO service images approve an order
 * together (ftgo-images.ts), and the ftgo chart's pods, played the same way, approve one over HTTPS
 * with the Order canary taking its share (ftgo-chart.ts). Every container runs with
 * a read-only root filesystem and no writable /tmp (readOnlyRoot), only its declared volumes writable,
 * and the base's node is the LTS `npm ci` installs (test/support/node-lts.ts).
 */

import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { components, imageEntrypoint } from '../../components.js';
import { podkitVersion } from '../../lib/version.js';
import { buildImages, imageReference, imageSpecs } from '../../scripts/images.js';
import { CertificateAuthority, writeCert } from '../support/certs.js';
import { makeRemote } from '../support/git.js';
import { httpRequest } from '../support/http.js';
import {
  makeLocalNodeImage,
  podman,
  podmanResult,
  readOnlyRoot,
  removeImages,
  runOnHost,
} from '../support/images.js';
import { majorOf, nodeLtsMajor } from '../support/node-lts.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { ftgoChartTests } from './ftgo-chart.js';
import { ftgoImageTests } from './ftgo-images.js';
import { mainPathTests } from './images-main-paths.js';
import { runtimeTreeTests } from './images-runtime.js';
import { chartPodTests } from './legacy-app-chart.js';
import { httpsGet } from './pod-https.js';
import { readmeRunTests } from './readme-run.js';

// Seventeen builds (the base's npm ci and tsc are most of it) and the pods take 3 to 8 minutes on a 2-core
// machine, depending on what else runs: give this file more than the suite's 180 s default.
t.setTimeout(900_000);

const id = randomBytes(4).toString('hex');
const tag = `test-${id}`;
const specs = imageSpecs();
const componentNames = specs.map((spec) => spec.name).filter((name) => name in components);
const containers: string[] = [];
const pods: string[] = [];
const tempDirs: string[] = [];
// podman builds its pause image (for pod infra containers) on first use and keeps it: the test removes
// it again only if it made it, and never by force (another pod may be using it).
const pauseImages = async () =>
  (
    await podman([
      'images',
      '--format',
      '{{.Repository}}:{{.Tag}}',
      '--filter',
      'reference=localhost/podman-pause',
    ])
  )
    .split('\n')
    .filter(Boolean);
const pauseBefore = await pauseImages();
const nodeImage = `localhost/podkit-test-node:${id}`;
t.teardown(async () => {
  if (pods.length) await podman(['pod', 'rm', '--force', '--ignore', ...pods]).catch(() => {});
  if (containers.length) await podman(['rm', '--force', '--ignore', ...containers]).catch(() => {});
  await removeImages([...specs.map((spec) => imageReference(spec.name, tag)).reverse(), nodeImage]);
  const madePause = (await pauseImages().catch(() => [])).filter((image) => !pauseBefore.includes(image));
  if (madePause.length) await podman(['rmi', '--ignore', ...madePause]).catch(() => {});
  // Files written by uid 65532 in the containers: root (the test) removes them.
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
// With git and ssh: git-pull's Dockerfile apt-gets them only when they are missing, and there is no apt.
await makeLocalNodeImage(nodeImage, { git: true });

const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  // The containers run as uid 65532: they must be able to enter what is mounted from here.
  chmodSync(dir, 0o755);
  return dir;
};

// --layers=false: no intermediate images are left behind by the test.
const built = await buildImages({ engine: 'podman', nodeImage, tag, buildFlags: ['--layers=false'] });

t.same(
  built,
  specs.map((spec) => imageReference(spec.name, tag)),
  'the base, the legacy app, every component image and every FTGO service image build',
);
t.same([...componentNames].sort(), Object.keys(components).sort(), 'every component has a Dockerfile');

t.test('base image: podkit as uid 65532 under tini', async (t) => {
  const reference = imageReference('base', tag);
  t.equal((await podman(['run', '--rm', reference, '--version'])).trim(), podkitVersion());
  t.match(await podman(['run', '--rm', reference, '--help']), /Usage: podkit <component>/);
  const config = JSON.parse(await podman(['image', 'inspect', reference]))[0].Config;
  t.equal(config.User, '65532:65532');
  t.same(config.Entrypoint, ['tini', '--', 'podkit']);
  t.match(await podman(['run', '--rm', '--entrypoint', 'id', reference]), /^uid=65532/);
  const node = await podman(['run', '--rm', ...readOnlyRoot, '--entrypoint', 'node', reference, '--version']);
  t.equal(majorOf(node), nodeLtsMajor(), `the image's node (${node.trim()}) is the LTS podkit runs on`);
  // What every component test below relies on: with readOnlyRoot not even /tmp is writable.
  const write = await podmanResult([
    'run',
    '--rm',
    ...readOnlyRoot,
    '--entrypoint',
    'node',
    reference,
    '-e',
    "require('node:fs').writeFileSync('/tmp/probe', '')",
  ]);
  t.not(write.code, 0, 'writing /tmp fails');
  t.match(write.stderr, /EROFS: read-only file system/);
});

runtimeTreeTests({ id, tag, nodeImage, tempDir, containers });
mainPathTests({ id, tag, nodeImage, tempDir, containers });
// The legacy-app chart played as a pod from these same images (built once per run, here).
chartPodTests({ id, tag, tempDir });
readmeRunTests({ id, tag, tempDir, containers });
ftgoImageTests({ id, tag, containers });
ftgoChartTests({ id, tag, tempDir });

t.test('legacy-app image: serves on its port, reloads on SIGHUP, exits 0 on SIGTERM', async (t) => {
  const dir = tempDir('podkit-image-');
  chmodSync(dir, 0o777);
  const port = await freePort();
  const config = join(dir, 'app.conf');
  const write = (greeting: string) =>
    writeFileSync(config, `port = ${port}\ngreeting = ${greeting}\nlog_dir = /var/log/legacy\n`, {
      mode: 0o644,
    });
  write('from a container');
  const logs = join(dir, 'logs');
  mkdirSync(logs, { mode: 0o777 });
  chmodSync(logs, 0o777);
  const name = `podkit-legacy-${id}`;
  containers.push(name);
  // Host networking: the app binds 127.0.0.1 only, as in a pod, and the test reaches it on loopback.
  // (podman 4.3 ignores tmpfs modes here, so the writable log directory is a host directory.)
  await runOnHost(name, [
    '-v',
    `${logs}:/var/log/legacy`,
    '-v',
    `${config}:/etc/legacy/app.conf:ro`,
    imageReference('legacy-app', tag),
  ]);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await httpRequest(`${base}/health`).catch(() => undefined))?.status === 200, {
    timeoutMs: 20_000,
    what: 'legacy app in its container',
  }).catch(async (err) => {
    throw new Error(`${(err as Error).message}\n${await podman(['logs', name]).catch(() => '')}`);
  });
  t.equal((await httpRequest(`${base}/`)).body, 'from a container\n');

  write('reloaded in a container');
  await podman(['kill', '--signal', 'HUP', name]);
  await waitFor(async () => (await httpRequest(`${base}/`)).body === 'reloaded in a container\n', {
    what: 'reload',
  });

  await podman(['stop', '--time', '10', name]);
  const state = JSON.parse(await podman(['inspect', name]))[0].State;
  t.equal(state.ExitCode, 0, 'tini forwarded SIGTERM and the app exited cleanly');
  t.match(
    readFileSync(join(logs, 'info.log'), 'utf8'),
    /config reloaded: generation 2/,
    'its log files are on the volume',
  );
});

for (const name of componentNames) {
  t.test(`${name} image: version, uid 65532 under tini, a bad flag exits 2`, async (t) => {
    const reference = imageReference(name, tag);
    // Independent runs of one image: in parallel, so seven images' checks stay a few seconds each.
    const [version, inspect, typo] = await Promise.all([
      podmanResult(['run', '--rm', ...readOnlyRoot, reference, '--version']),
      podman(['image', 'inspect', reference]),
      // An unknown flag is refused before required options are looked at, so the same bad input
      // gives the same answer from every component; a near miss also gets a suggestion.
      podmanResult(['run', '--rm', ...readOnlyRoot, reference, '--log-levl=debug']),
    ]);
    t.same(version, { code: 0, stdout: `podkit ${name} ${podkitVersion()}\n`, stderr: '' });
    const config = JSON.parse(inspect)[0].Config;
    t.equal(config.User, '65532:65532');
    t.same(config.Entrypoint, imageEntrypoint(name));
    t.equal(typo.code, 2, 'configuration errors exit 2');
    t.equal(typo.stdout, '');
    t.equal(
      typo.stderr,
      `podkit ${name}: unknown option --log-levl (did you mean --log-level?)\n`,
      'one line on stderr naming the option',
    );
  });
}

t.test('a pod: the legacy app answers HTTPS from the host through the tls-proxy sidecar', async (t) => {
  const ca = await CertificateAuthority.create();
  const tls = tempDir('podkit-pod-tls-');
  const files = await writeCert(tls, 'server', await ca.localhost());
  const proxyArgs = [
    '-v',
    `${tls}:/etc/podkit/tls:ro`,
    imageReference('tls-proxy', tag),
    '--cert-file',
    '/etc/podkit/tls/server-chain.crt',
    '--key-file',
    '/etc/podkit/tls/server.key',
    // Workers: the primary forks its bundled worker script.
    '--workers',
    '2',
  ];
  // The key is root's and 0600, like a Secret mounted without defaultMode or fsGroup: uid 65532 cannot
  // read it, and the sidecar says so at start instead of failing its first handshake.
  const unreadable = await podmanResult(['run', '--rm', ...proxyArgs]);
  t.equal(unreadable.code, 2, 'an unreadable key exits 2');
  t.equal(
    unreadable.stderr,
    'podkit tls-proxy: invalid --key-file "/etc/podkit/tls/server.key": expected a readable file (EACCES)\n',
  );
  // In Kubernetes the Secret's defaultMode/fsGroup would let the sidecar's uid read it.
  chmodSync(files.key, 0o644);
  const logs = tempDir('podkit-pod-logs-');
  chmodSync(logs, 0o777);

  // Only the sidecar's 8443 is published: the app listens on the pod's 127.0.0.1:8080 and cannot be
  // reached from outside the pod at all (CNI forwards to the pod's own address, not its loopback).
  const port = await freePort();
  const pod = `podkit-pod-${id}`;
  pods.push(pod);
  await podman(['pod', 'create', '--name', pod, '--publish', `127.0.0.1:${port}:8443`]);
  const app = `${pod}-app`;
  const proxy = `${pod}-tls-proxy`;
  // Both with a read-only root filesystem, as a pod's securityContext would have them.
  await podman([
    'run',
    '-d',
    '--pod',
    pod,
    '--name',
    app,
    ...readOnlyRoot,
    '-v',
    `${logs}:/var/log/legacy`,
    imageReference('legacy-app', tag),
  ]);
  await podman(['run', '-d', '--pod', pod, '--name', proxy, ...readOnlyRoot, ...proxyArgs]);

  const url = `https://127.0.0.1:${port}/`;
  let answer: { status: number; body: string } | undefined;
  await waitFor(
    async () => {
      answer = await httpsGet(url, ca.certPem, undefined, 5_000).catch(() => undefined);
      return answer?.status === 200;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'HTTPS through the sidecar' },
  ).catch(async (err) => {
    const logsOf = (name: string) => podman(['logs', name]).catch((e: Error) => e.message);
    throw new Error(`${(err as Error).message}\n${await logsOf(app)}\n${await logsOf(proxy)}`);
  });
  t.equal(answer?.body, 'Hello from the legacy app\n', "the app's own greeting, over TLS signed by the CA");
  await t.rejects(
    httpsGet(url, (await CertificateAuthority.create('another CA')).certPem, undefined, 5_000),
    { code: 'SELF_SIGNED_CERT_IN_CHAIN' },
    'a client trusting another CA refuses the handshake: the sidecar presents the mounted certificate',
  );

  // A pod being deleted: SIGTERM to both (through tini), and both drain and exit 0.
  await podman(['pod', 'stop', '--time', '15', pod]);
  for (const name of [app, proxy]) {
    t.equal(JSON.parse(await podman(['inspect', name]))[0].State.ExitCode, 0, `${name} exited 0 on SIGTERM`);
  }
});

t.test('git-pull image: publishes a file:// repository into the --root volume', async (t) => {
  const remote = await makeRemote(t, {
    'index.html': '<h1>from git</h1>\n',
    'conf/app.conf': 'port = 8080\n',
  });
  const root = tempDir('podkit-git-root-');
  chmodSync(root, 0o777);
  const name = `podkit-git-pull-${id}`;
  containers.push(name);
  // ssh refuses to start for a uid without a passwd entry: the Dockerfile adds one for 65532.
  const ssh = await podmanResult([
    'run',
    '--rm',
    '--entrypoint',
    'ssh',
    imageReference('git-pull', tag),
    '-V',
  ]);
  t.equal(ssh.code, 0, 'ssh runs as uid 65532', { stderr: ssh.stderr });
  // The repository read-only, the volume writable, the rest of the filesystem read-only; --one-time
  // exits 0 once the tree is published (an init container), so `run` without -d waits for it, and
  // --max-failures 1 makes a failure exit at once with its reason.
  const run = await podmanResult([
    'run',
    '--name',
    name,
    ...readOnlyRoot,
    '-v',
    `${remote.bare}:/repo/app.git:ro`,
    '-v',
    `${root}:/git`,
    imageReference('git-pull', tag),
    '--repo',
    'file:///repo/app.git',
    '--root',
    '/git',
    '--link',
    'current',
    '--one-time',
    '--max-failures',
    '1',
  ]);
  t.equal(run.code, 0, 'git-pull --one-time exits 0', { stdout: run.stdout, stderr: run.stderr });
  t.equal(readFileSync(join(root, 'current', 'index.html'), 'utf8'), '<h1>from git</h1>\n');
  t.equal(readFileSync(join(root, 'current', 'conf', 'app.conf'), 'utf8'), 'port = 8080\n');
  t.equal(readlinkSync(join(root, 'current')), `.worktrees/${remote.first}`, 'the link names the commit');
});
