/**
 * The http source end to end, against a real HTTP(S) config server that answers with ETags: conditional
 * polling, error answers, a private CA, a bearer token from a file, and unsafe keys in a payload.
 */

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CertificateAuthority } from '../../../test/support/certs.js';
import { waitFor } from '../../../test/support/wait.js';
import { configServer, httpArgs } from './config-server.js';
import {
  metric,
  readTarget,
  readyz,
  startSync,
  targetLayout,
  tempDir,
  waitForFile,
  waitForMetric,
} from './helpers.js';

t.test('what the config server answered reaches the log, never /readyz', async (t) => {
  // An error body may carry anything (a stack trace, a connection string): /readyz is unauthenticated.
  const secret = 'pw_cfg_51e0c7';
  const config = await configServer(t);
  config.state.status = 500;
  config.state.errorBody = `store failed: postgres://cfg:${secret}@db/config`;
  const target = tempDir();
  const sync = await startSync(t, httpArgs(config.url, target), { ready: false });
  const logged = (l: { msg?: unknown; err?: unknown }) =>
    l.msg === 'cannot read the source; the last good configuration stays' && String(l.err).includes(secret);
  await waitFor(() => sync.logs.some(logged), { what: 'the error body in the log' });
  const notReady = await readyz(sync.adminUrl);
  t.equal(notReady.status, 503);
  t.match(notReady.body, { checks: { config: { detail: { reason: 'cannot read the source' } } } });
  t.notMatch(JSON.stringify(notReady.body), secret, 'not ready: no error body in /readyz');

  config.state.status = 200;
  await waitForFile(target, 'app.conf', 'greeting = one\n');
  config.state.status = 500;
  const errors = await metric(sync.adminUrl, 'podkit_config_sync_source_errors_total');
  await waitForMetric(sync.adminUrl, 'podkit_config_sync_source_errors_total', '', (v) => v >= errors + 1);
  const ready = await readyz(sync.adminUrl);
  t.equal(ready.status, 200);
  t.match(JSON.stringify(ready.body), /failing since /);
  t.notMatch(JSON.stringify(ready.body), secret, 'ready, source failing: no error body in /readyz');
});

t.test('conditional GET: 304s while nothing changes, a change is published', async (t) => {
  const config = await configServer(t);
  const target = tempDir();
  const sync = await startSync(t, httpArgs(config.url, target));
  t.equal(readTarget(target, 'app.conf'), 'greeting = one\n');

  await waitFor(() => config.state.seen.filter((s) => s.status === 304).length >= 3, { what: 'three 304s' });
  const [first, second] = config.state.seen;
  t.equal(first?.ifNoneMatch, undefined, 'the first GET is unconditional');
  t.match(second?.ifNoneMatch, /^"[0-9a-f]{16}"$/, 'then If-None-Match with the ETag');
  t.equal(await metric(sync.adminUrl, 'podkit_config_sync_publishes_total'), 1, 'a 304 publishes nothing');
  t.ok((await metric(sync.adminUrl, 'podkit_config_sync_syncs_total', 'result="unchanged"')) >= 3);
  t.ok((await metric(sync.adminUrl, 'podkit_config_sync_last_success_age_seconds')) < 3, 'a 304 confirms');

  config.state.body = '{"app.conf":"greeting = two\\n","extra.yaml":"a: 1\\n"}';
  await waitForFile(target, 'app.conf', 'greeting = two\n');
  t.equal(readTarget(target, 'extra.yaml'), 'a: 1\n');
});

t.test('5xx, malformed answers and a vanished server keep the last good configuration', async (t) => {
  const config = await configServer(t);
  const target = tempDir();
  const sync = await startSync(t, httpArgs(config.url, target));

  config.state.status = 503;
  await waitForMetric(sync.adminUrl, 'podkit_config_sync_source_errors_total', '', (v) => v >= 2);
  t.equal(readTarget(target, 'app.conf'), 'greeting = one\n');
  t.equal((await readyz(sync.adminUrl)).status, 200);
  t.ok(
    sync.logs.some(
      (l) => l.code === 'PODKIT_ERR_SOURCE' && /HTTP 503 config store broke/.test(String(l.err)),
    ),
  );

  config.state.status = 200;
  config.state.body = '{"app.conf": 42}';
  await waitForMetric(sync.adminUrl, 'podkit_config_sync_syncs_total', 'result="invalid"', (v) => v >= 1);
  t.ok(sync.logs.some((l) => /the value of "app.conf" is number, expected text/.test(String(l.reason))));
  config.state.body = '{"settings.json": "{broken"}';
  await waitForMetric(sync.adminUrl, 'podkit_config_sync_syncs_total', 'result="invalid"', (v) => v >= 2);
  t.ok(sync.logs.some((l) => l.code === 'PODKIT_ERR_VALIDATION' && l.key === 'settings.json'));
  t.equal(readTarget(target, 'app.conf'), 'greeting = one\n', 'still the last good');
  t.equal(readTarget(target, 'settings.json'), undefined);
  const refusals = () =>
    sync.logs.filter((l) => l.code === 'PODKIT_ERR_VALIDATION' && l.key === 'settings.json');
  // Polled on with If-None-Match: the same refused content costs a 304, not another refusal.
  const polled = config.state.seen.length;
  await waitFor(() => config.state.seen.filter((s, i) => i >= polled && s.status === 304).length >= 2, {
    what: 'two more polls answered 304',
  });
  t.equal(refusals().length, 1);
  // SIGHUP forgets refused content and asks unconditionally: validated (and refused) again.
  sync.signal('SIGHUP');
  await waitFor(() => refusals().length === 2, { what: 'validated again after SIGHUP' });
  t.equal(await metric(sync.adminUrl, 'podkit_reloads_total', 'result="success"'), 1);

  config.server.close();
  config.server.closeAllConnections();
  const errors = await metric(sync.adminUrl, 'podkit_config_sync_source_errors_total');
  await waitForMetric(sync.adminUrl, 'podkit_config_sync_source_errors_total', '', (v) => v >= errors + 2);
  t.match(JSON.stringify((await readyz(sync.adminUrl)).body), /failing since .*: cannot read the source/);
  t.ok(
    sync.logs.some(
      (l) =>
        l.msg === 'cannot read the source; the last good configuration stays' &&
        /ECONNREFUSED/.test(String(l.err)),
    ),
    'the log names the refused connection',
  );
  t.equal(readTarget(target, 'app.conf'), 'greeting = one\n');
  t.equal((await readyz(sync.adminUrl)).status, 200);
});

t.test('https with a private CA and a bearer token from a file, rotated without a restart', async (t) => {
  const ca = await CertificateAuthority.create();
  const cert = await ca.localhost();
  const dir = tempDir();
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'token-one\n');
  const config = await configServer(t, { cert: cert.chainPem, key: cert.keyPem });
  config.state.token = 'token-one';
  const target = tempDir();

  const untrusted = await startSync(t, httpArgs(config.url, tempDir(), '--token-file', tokenFile), {
    ready: false,
  });
  await waitFor(
    () => untrusted.logs.some((l) => /self-signed certificate|unable to verify|issuer/i.test(String(l.err))),
    {
      what: 'a TLS verification error without --ca-file',
    },
  );
  t.equal((await readyz(untrusted.adminUrl)).status, 503);

  const sync = await startSync(
    t,
    httpArgs(config.url, target, '--ca-file', caFile, '--token-file', tokenFile),
  );
  t.equal(readTarget(target, 'app.conf'), 'greeting = one\n');
  t.equal(config.state.seen.at(-1)?.authorization, 'Bearer token-one');

  config.state.token = 'token-two';
  await waitFor(() => config.state.seen.at(-1)?.status === 401, { what: 'the old token refused' });
  writeFileSync(tokenFile, 'token-two\n');
  config.state.body = '{"app.conf":"greeting = rotated\\n"}';
  await waitForFile(target, 'app.conf', 'greeting = rotated\n');
  t.equal(
    config.state.seen.at(-1)?.authorization,
    'Bearer token-two',
    'the file is re-read on every request',
  );

  const transcript = `${sync.transcript()}\n${untrusted.transcript()}`;
  t.notMatch(transcript, /token-one|token-two/, 'the token never appears in a log');
});

t.test('--http-key publishes the body as one file', async (t) => {
  const config = await configServer(t);
  config.state.body = 'port = 8080\ngreeting = raw\n';
  const target = tempDir();
  await startSync(t, httpArgs(config.url, target, '--http-key', 'app.conf'));
  t.equal(readTarget(target, 'app.conf'), 'port = 8080\ngreeting = raw\n');
});

t.test('unsafe keys in a payload are refused, the rest is published, nothing escapes', async (t) => {
  const config = await configServer(t);
  config.state.body = JSON.stringify({
    '../escaped.conf': 'no',
    '/tmp/absolute.conf': 'no',
    '..data': 'no',
    'sub/../../up.conf': 'no',
    'ok.conf': 'yes',
    a: 'file a',
    'a/b': 'clashes with the file a',
  });
  const parent = tempDir();
  const target = join(parent, 'config');
  const sync = await startSync(t, httpArgs(config.url, target));
  t.same(
    Object.keys(await targetLayout(target)).filter((name) => !name.startsWith('..')),
    ['a', 'ok.conf'],
  );
  t.equal(readTarget(target, 'a'), 'file a');
  t.notOk(
    existsSync(join(parent, 'escaped.conf')) || existsSync('/tmp/absolute.conf'),
    'nothing written outside',
  );
  t.equal(await metric(sync.adminUrl, 'podkit_config_sync_refused_keys_total', 'reason="unsafe"'), 4);
  t.equal(await metric(sync.adminUrl, 'podkit_config_sync_refused_keys_total', 'reason="conflict"'), 1);
  const refused = sync.logs
    .filter((l) => l.code === 'PODKIT_ERR_UNSAFE_KEY')
    .map((l) => `${l.key}: ${l.reason}`);
  t.same(refused.sort(), [
    '../escaped.conf: path traversal (. or .. segment)',
    '..data: names starting with .. are reserved (..data, versions)',
    '/tmp/absolute.conf: absolute path',
    'a/b: clashes with a: a name cannot be a file and a folder',
    'sub/../../up.conf: path traversal (. or .. segment)',
  ]);
  await waitFor(() => config.state.seen.length >= 4, { what: 'more polls' });
  t.equal(sync.logs.filter((l) => l.code === 'PODKIT_ERR_UNSAFE_KEY').length, 5, 'logged once, not per poll');
});
