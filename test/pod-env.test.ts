/**
 * One ConfigMap for a whole pod (`envFrom` in every container): one environment holds the variables of
 * tls-proxy, config-sync and git-pull, plus plain ones. Each real process takes its own scoped values
 * (PODKIT_<COMPONENT>_*) over the plain ones, none warns about the others' variables, and a variable
 * no component knows is warned about by each.
 */

import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CertificateAuthority, writeCert } from './support/certs.js';
import { makeRemote } from './support/git.js';
import { httpRequest } from './support/http.js';
import { type Spawned, spawnPodkit, type Teardown } from './support/process.js';
import { waitFor } from './support/wait.js';

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-pod-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a component with no flags at all, as a container configured only by its environment. */
async function startFromEnv(
  t: Teardown,
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<Spawned & { adminUrl: string }> {
  const spawned = spawnPodkit(t, [name], { env });
  const adminUrl = `http://${await spawned.address('admin', 60_000)}`;
  await waitFor(async () => (await httpRequest(`${adminUrl}/readyz`)).status === 200, {
    timeoutMs: 60_000,
    what: `${name} /readyz 200\n${spawned.transcript()}`,
  });
  return Object.assign(spawned, { adminUrl });
}

/** One HTTPS GET trusting `ca`. */
function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

const unknownWarnings = (process: Spawned) =>
  process.logs.filter((line) => String(line.msg).startsWith('unknown environment variable'));

t.test('one environment configures three components, each with its own values', async (t) => {
  const dir = tempDir(t);

  // tls-proxy's app, and the endpoint config-sync and git-pull call after each update.
  const app = createServer((_req, res) => res.end('hello from the app'));
  const calls: { path: string; headers: IncomingHttpHeaders }[] = [];
  const hooks = createServer((req, res) => {
    calls.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    res.writeHead(204).end();
  });
  for (const server of [app, hooks]) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.teardown(() => {
      server.closeAllConnections();
      server.close();
    });
  }
  const appPort = (app.address() as AddressInfo).port;
  const hooksOrigin = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;

  const ca = await CertificateAuthority.create();
  const cert = await writeCert(dir, 'proxy', await ca.localhost());
  const source = join(dir, 'source');
  const target = join(dir, 'target');
  mkdirSync(source);
  writeFileSync(join(source, 'app.conf'), 'greeting = one\n');
  const remote = await makeRemote(t, { 'version.txt': 'one\n' });
  const root = join(dir, 'root');

  const pod: NodeJS.ProcessEnv = {
    // Plain names reach every container that has the option.
    PODKIT_LOG_LEVEL: 'info',
    PODKIT_TARGET_DIR: target, // only config-sync has --target-dir
    PODKIT_PERIOD: '200ms', // only git-pull has --period
    // Plain names every container would take, were it not for their scoped ones: a trap for a pod.
    PODKIT_ADMIN_ADDRESS: 'nowhere',
    PODKIT_WEBHOOK_URL: `${hooksOrigin}/plain`,
    // tls-proxy
    PODKIT_TLS_PROXY_ADMIN_ADDRESS: '127.0.0.1:0',
    PODKIT_TLS_PROXY_LISTEN: '127.0.0.1:0',
    PODKIT_TLS_PROXY_UPSTREAM: `http://127.0.0.1:${appPort}`,
    PODKIT_TLS_PROXY_CERT_FILE: cert.chain,
    PODKIT_TLS_PROXY_KEY_FILE: cert.key,
    // config-sync
    PODKIT_CONFIG_SYNC_ADMIN_ADDRESS: '127.0.0.1:0',
    PODKIT_CONFIG_SYNC_SOURCE: 'dir',
    PODKIT_CONFIG_SYNC_SOURCE_DIR: source,
    PODKIT_CONFIG_SYNC_DEBOUNCE: '20ms',
    PODKIT_CONFIG_SYNC_WEBHOOK_URL: `${hooksOrigin}/config-sync`,
    // git-pull
    PODKIT_GIT_PULL_ADMIN_ADDRESS: '127.0.0.1:0',
    PODKIT_GIT_PULL_REPO: remote.fileUrl,
    PODKIT_GIT_PULL_ROOT: root,
    PODKIT_GIT_PULL_LINK: 'current',
    PODKIT_GIT_PULL_WEBHOOK_URL: `${hooksOrigin}/git-pull`,
  };

  const [proxy, sync, pull] = await Promise.all([
    startFromEnv(t, 'tls-proxy', pod),
    startFromEnv(t, 'config-sync', pod),
    startFromEnv(t, 'git-pull', pod),
  ]);

  // tls-proxy: its own listener, certificate and upstream.
  const listen = await proxy.address('tls');
  t.equal(await httpsGet(`https://${listen}/`, ca.certPem), 'hello from the app');

  // config-sync: the shared target directory, and its own webhook after a change.
  t.equal(readFileSync(join(target, 'app.conf'), 'utf8'), 'greeting = one\n');
  const called = (path: string) => calls.filter((call) => call.path === path).length;
  const before = called('/config-sync');
  writeFileSync(join(source, 'app.conf'), 'greeting = two\n');
  await waitFor(() => called('/config-sync') > before, { what: "config-sync's webhook after the change" });
  t.equal(readFileSync(join(target, 'app.conf'), 'utf8'), 'greeting = two\n');

  // git-pull: its repository under its root, and its own webhook with the hash.
  await waitFor(() => calls.some((call) => call.path === '/git-pull'), { what: "git-pull's webhook" });
  t.equal(readFileSync(join(root, 'current', 'version.txt'), 'utf8'), 'one\n');
  t.equal(calls.find((call) => call.path === '/git-pull')?.headers['podkit-git-hash'], remote.first);
  t.notOk(
    calls.some((call) => call.path === '/plain'),
    'the plain PODKIT_WEBHOOK_URL lost to each scoped one',
  );

  for (const [name, process] of [
    ['tls-proxy', proxy],
    ['config-sync', sync],
    ['git-pull', pull],
  ] as const) {
    t.same(unknownWarnings(process), [], `${name} warns about none of the pod's variables`);
    t.ok(
      process.logs.some((line) => line.msg === 'starting'),
      `${name} logs at the plain PODKIT_LOG_LEVEL`,
    );
  }

  // A variable no component knows, and one of tls-proxy's mistyped: every container says so.
  const typos = { ...pod, PODKIT_NO_SUCH_OPTION: 'x', PODKIT_TLS_PROXY_LISTNE: '127.0.0.1:1' };
  for (const name of ['tls-proxy', 'config-sync', 'git-pull']) {
    const started = await startFromEnv(t, name, typos);
    t.same(
      unknownWarnings(started).map((line) => line.msg),
      [
        'unknown environment variable PODKIT_NO_SUCH_OPTION: ignored',
        'unknown environment variable PODKIT_TLS_PROXY_LISTNE (did you mean PODKIT_TLS_PROXY_LISTEN?): ignored',
      ],
      `${name} warns about the unknown variables only`,
    );
    await started.stop();
  }
});
