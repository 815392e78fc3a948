/**
 * The app side, with the real legacy app: SIGHUP across a shared PID namespace (found by name and by
 * pid file), and one reload per burst of edits; and an app told by an HTTP call, under the current
 * option names and the old ones.
 */

import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { CertificateAuthority } from '../../../test/support/certs.js';
import type { Teardown } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { metric, startSync, tempDir } from './helpers.js';
import { greeting, startPod } from './pod.js';

const fast = ['--debounce', '50ms', '--poll-interval', '500ms'];

t.test('SIGHUP across a shared PID namespace: the app found by name reloads', async (t) => {
  const pod = await startPod(t, () => ['--process-name', 'legacy-app', ...fast]);
  t.equal(await greeting(pod), 'first');
  t.equal(
    (await pod.stats()).config.reloads,
    0,
    'a restarted sidecar adopts the published version: no reload',
  );

  pod.writeSource('greeting = second\n');
  await waitFor(async () => (await greeting(pod)) === 'second', {
    timeoutMs: 20_000,
    what: 'the app greets "second"',
  });
  t.equal((await pod.stats()).config.reloads, 1, 'one SIGHUP, one reload');
  const notified = await pod.sync.waitForLog('notified the app');
  t.same(notified.signal, 'SIGHUP');
  t.equal((notified.pids as number[]).length, 1, 'exactly the one legacy-app in this pod');
  t.equal(await metric(pod.adminUrl, 'podkit_config_sync_notifications_total', 'result="success"'), 1);
});

t.test('SIGHUP to the pid in a pid file', async (t) => {
  const pod = await startPod(t, ({ pidFile }) => ['--pid-file', pidFile, ...fast]);
  pod.writeSource('greeting = from the pid file\n');
  await waitFor(async () => (await greeting(pod)) === 'from the pid file', {
    timeoutMs: 20_000,
    what: 'reloaded',
  });
  t.equal((await pod.stats()).config.reloads, 1);
});

t.test('a burst of edits gives one publish and one reload, not a storm', async (t) => {
  const pod = await startPod(t, () => [
    '--process-name',
    'legacy-app',
    // Far longer than the 20 ms between edits, so that a stall of the test process mid-burst still
    // leaves the burst inside one debounce window.
    '--debounce',
    '2s',
    '--poll-interval',
    '30s',
  ]);
  for (let i = 1; i <= 10; i++) {
    pod.writeSource(`greeting = edit ${i}\n`);
    await sleep(20);
  }
  await waitFor(async () => (await greeting(pod)) === 'edit 10', {
    timeoutMs: 20_000,
    what: 'the last edit live',
  });
  // The app showing the last edit means every publish has happened: a burst split in two published
  // (and signalled) its first half before, and a later run reads the same bytes and publishes nothing.
  await waitFor(
    async () =>
      (await metric(pod.adminUrl, 'podkit_config_sync_notifications_total', 'result="success"')) >= 1,
    { what: 'the reload counted' },
  );
  t.equal((await pod.stats()).config.reloads, 1, 'ten edits, one reload');
  t.equal(await metric(pod.adminUrl, 'podkit_config_sync_publishes_total'), 1);
  t.equal(await metric(pod.adminUrl, 'podkit_config_sync_notifications_total', 'result="success"'), 1);
});

/** An app's reload endpoint, over http or (with a certificate) https, recording each call. */
async function reloadEndpoint(t: Teardown, tls?: { cert: string; key: string }) {
  const calls: { method: string; url: string; authorization?: string }[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    calls.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(204).end();
  };
  const server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { calls, origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}` };
}

const dirSource = (source: string, target: string) => [
  '--source',
  'dir',
  '--source-dir',
  source,
  '--target-dir',
  target,
  ...fast,
];

t.test('an HTTP call after each change: --webhook-url over https with a private CA', async (t) => {
  const ca = await CertificateAuthority.create();
  const cert = await ca.localhost();
  const source = tempDir();
  const caFile = join(tempDir(), 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  writeFileSync(join(source, 'app.conf'), 'one\n');
  const app = await reloadEndpoint(t, { cert: cert.chainPem, key: cert.keyPem });
  const sync = await startSync(t, [
    ...dirSource(source, tempDir()),
    '--webhook-url',
    `${app.origin.replace('//', '//ops:s3cret@')}/-/reload`,
    '--webhook-method',
    'PUT',
    '--ca-file',
    caFile,
  ]);
  const before = app.calls.length;
  writeFileSync(join(source, 'app.conf'), 'two\n');
  await waitFor(() => app.calls.length > before, { what: 'the reload call after the change' });
  t.same(app.calls.at(-1), {
    method: 'PUT',
    url: '/-/reload',
    authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}`,
  });
  t.equal(
    await metric(sync.adminUrl, 'podkit_config_sync_notifications_total', 'result="success"'),
    app.calls.length,
  );
  t.notMatch(sync.transcript(), /s3cret/, 'the password in the URL is never logged');
});

t.test('the old spellings --reload-url and PODKIT_RELOAD_METHOD still work, with a warning', async (t) => {
  const source = tempDir();
  writeFileSync(join(source, 'app.conf'), 'one\n');
  const app = await reloadEndpoint(t);
  const sync = await startSync(
    t,
    [...dirSource(source, tempDir()), '--reload-url', `${app.origin}/-/reload`],
    {
      env: { PODKIT_RELOAD_METHOD: 'PUT' },
    },
  );
  t.ok(
    sync.logs.some((l) => l.level === 'warn' && l.msg === '--reload-url is deprecated: use --webhook-url'),
  );
  t.ok(
    sync.logs.some(
      (l) => l.level === 'warn' && l.msg === 'PODKIT_RELOAD_METHOD is deprecated: use PODKIT_WEBHOOK_METHOD',
    ),
  );
  const before = app.calls.length;
  writeFileSync(join(source, 'app.conf'), 'two\n');
  await waitFor(() => app.calls.length > before, { what: 'the reload call after the change' });
  t.same(app.calls.at(-1), { method: 'PUT', url: '/-/reload', authorization: undefined });
});

t.test(
  '--reload-url with the --reload-method flag: called after each publish with that method',
  async (t) => {
    const source = tempDir();
    writeFileSync(join(source, 'app.conf'), 'one\n');
    const app = await reloadEndpoint(t);
    const sync = await startSync(t, [
      ...dirSource(source, tempDir()),
      '--reload-url',
      `${app.origin}/-/reload`,
      '--reload-method',
      'GET',
    ]);
    t.ok(sync.logs.some((l) => l.msg === '--reload-method is deprecated: use --webhook-method'));
    const before = app.calls.length;
    writeFileSync(join(source, 'app.conf'), 'two\n');
    await waitFor(() => app.calls.length > before, { what: 'the reload call after the change' });
    t.same(app.calls.at(-1), { method: 'GET', url: '/-/reload', authorization: undefined });
  },
);
