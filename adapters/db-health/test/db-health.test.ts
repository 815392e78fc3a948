/**
 * db-health as a real process against a real private MariaDB: what the probes say when the database is
 * healthy, when the credentials or the host are wrong, and what exec probes exit with.
 */

import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { freePort } from '../../../test/support/ports.js';
import { runPodkit } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  createHealthUser,
  failingLine,
  healthPassword,
  healthUrl,
  metric,
  metricsText,
  probe,
  probeCodes,
  promtool,
  ranLine,
  startAdapter,
  tempDir,
} from './helpers.js';

const db = await startMariaDb(t);
await createHealthUser(db);
const fast = ['--check-interval', '300ms', '--check-timeout', '1s'];

t.test('healthy database: all three probes 200, each check listed with its facts', async (t) => {
  const app = await startAdapter(t, [
    '--mysql-url',
    healthUrl(db),
    ...fast,
    '--require-writable',
    '--log-level',
    'debug',
  ]);
  await waitFor(async () => (await probe(app.adminUrl, '/startupz')).status === 200, {
    what: '/startupz 200',
  });
  t.same(await probeCodes(app.adminUrl), { liveness: 200, readiness: 200, startup: 200 });

  const readyz = await probe(app.adminUrl, '/readyz');
  t.equal(readyz.body.status, 'ready');
  t.same(
    Object.keys(readyz.body.checks),
    ['database-up', 'writable'],
    'readiness lists the checks that gate it',
  );
  const up = readyz.body.checks['database-up'];
  t.match(up, {
    ok: true,
    detail: { status: 'ok', reason: null, expected: { equals: 1 }, lastReason: null },
  });
  t.type(up?.detail.latencyMs, 'number');
  t.match(readyz.body.checks.writable, { ok: true, detail: { reason: null } });
  t.match(await app.waitForLog(ranLine('database-up', 'ok')), { observed: 1 });
  t.match(await app.waitForLog(ranLine('writable', 'ok')), { observed: 'read-write' });
  const healthz = await probe(app.adminUrl, '/healthz');
  t.same(Object.keys(healthz.body.checks), ['database-up'], 'writable does not gate liveness');
  t.equal((await probe(app.adminUrl, '/startupz')).body.status, 'started');

  const text = await metricsText(app.adminUrl);
  t.equal(metric(text, 'podkit_db_health_database_up'), 1);
  t.equal(metric(text, 'podkit_db_health_check_success', { check: 'writable' }), 1);
  t.equal(metric(text, 'podkit_db_health_probe_success', { probe: 'readiness' }), 1);
  t.ok((metric(text, 'podkit_db_health_check_duration_seconds_count', { check: 'database-up' }) ?? 0) >= 1);
  t.ok((metric(text, 'podkit_db_health_open_connections') ?? 0) <= 2, 'within the pool size');
  const lint = await promtool(text);
  t.equal(lint.code, 0, `promtool check metrics: ${lint.output}`);
});

t.test(
  'wrong password: a short reason in the body, the clear one in the log; a rotated password file applies',
  async (t) => {
    const dir = tempDir(t);
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'not-the-password\n');
    const app = await startAdapter(
      t,
      ['--mysql-url', healthUrl(db), ...fast, '--mysql-password-file', passwordFile],
      { ready: false, env: { PODKIT_MYSQL_PASSWORD: undefined } },
    );
    await waitFor(
      async () => (await probe(app.adminUrl, '/readyz')).body.checks['database-up']?.detail.status === 'fail',
      {
        what: 'database-up failing',
      },
    );
    const readyz = await probe(app.adminUrl, '/readyz');
    t.equal(readyz.status, 503);
    t.equal(readyz.body.checks['database-up']?.detail.reason, 'access denied');
    const line = await app.waitForLog(failingLine('database-up'));
    t.match(line, {
      level: 'warn',
      code: 'PODKIT_ERR_DB_CHECK',
      reason:
        /^access denied: Access denied for user 'podkit_health'@'127\.0\.0\.1' \(using password: YES\) \(check --mysql-password-file or PODKIT_MYSQL_PASSWORD/,
    });
    t.notOk('stack' in line || 'err' in line, 'no stack trace in the log line');
    t.notMatch(app.transcript(), /not-the-password/, 'the password never appears in the output');

    writeFileSync(passwordFile, `${healthPassword}\n`);
    await waitFor(async () => (await probe(app.adminUrl, '/readyz')).status === 200, {
      what: '/readyz 200 after the password file changed',
    });
    t.pass('the new password was read at the next connection, without a restart');
  },
);

t.test('unknown host and nothing listening: the logged reason says which', async (t) => {
  const unknown = await startAdapter(
    t,
    ['--mysql-url', 'mysql://health@no-such-host.invalid:3306/', ...fast],
    {
      ready: false,
    },
  );
  const port = await freePort();
  const refused = await startAdapter(t, ['--mysql-url', `mysql://health@127.0.0.1:${port}/`, ...fast], {
    ready: false,
  });
  const unknownLine = await unknown.waitForLog(failingLine('database-up'));
  const refusedLine = await refused.waitForLog(failingLine('database-up'));
  t.match(unknownLine.reason, /^unknown host "no-such-host\.invalid": the name does not resolve/);
  t.equal(
    refusedLine.reason,
    `connection refused by 127.0.0.1:${port}: is the database running and listening there?`,
  );
  for (const app of [unknown, refused])
    t.equal(
      (await probe(app.adminUrl, '/readyz')).body.checks['database-up']?.detail.reason,
      'database unreachable',
    );
  t.equal((await probe(unknown.adminUrl, '/readyz')).status, 503);
});

t.test('exec probe mode: exit 0 when the probe passes, 1 when it fails or nobody answers', async (t) => {
  const app = await startAdapter(t, ['--mysql-url', healthUrl(db), ...fast]);
  const admin = ['--admin-address', app.adminUrl.replace('http://', '')];
  const ready = await runPodkit(['db-health', '--probe', 'readiness', ...admin]);
  t.same(ready, { code: 0, stdout: 'readiness ready (database-up)\n', stderr: '' });
  t.equal((await runPodkit(['db-health', '--probe', 'liveness', ...admin])).code, 0);
  t.equal((await runPodkit(['db-health', '--probe', 'startup', ...admin])).code, 0);

  // An adapter whose database refuses: readiness and startup fail, liveness holds through its grace.
  const port = await freePort();
  const down = await startAdapter(t, ['--mysql-url', `mysql://health@127.0.0.1:${port}/`, ...fast], {
    ready: false,
  });
  const downAdmin = ['--admin-address', down.adminUrl.replace('http://', '')];
  await waitFor(
    async () => (await probe(down.adminUrl, '/readyz')).body.checks['database-up']?.detail.status === 'fail',
    {
      what: 'database-up failing',
    },
  );
  const notReady = await runPodkit(['db-health', '--probe', 'readiness', ...downAdmin]);
  t.equal(notReady.code, 1);
  t.equal(notReady.stdout, 'readiness not ready: database-up: database unreachable\n');
  t.equal(
    (await down.waitForLog(failingLine('database-up'))).reason,
    `connection refused by 127.0.0.1:${port}: is the database running and listening there?`,
  );
  t.equal((await runPodkit(['db-health', '--probe', 'startup', ...downAdmin])).code, 1);
  t.equal((await runPodkit(['db-health', '--probe', 'liveness', ...downAdmin])).code, 0, 'liveness grace');

  const nobody = await runPodkit([
    'db-health',
    '--probe',
    'readiness',
    '--admin-address',
    `127.0.0.1:${await freePort()}`,
  ]);
  t.equal(nobody.code, 1);
  t.match(
    nobody.stderr,
    /^readiness unknown: the db-health adapter at http:\/\/127\.0\.0\.1:\d+\/readyz did not answer: /,
  );

  // A wedged adapter (it accepts, never answers) fails the probe at its own deadline, not the kubelet's.
  const wedged = createServer(() => {}).listen(0, '127.0.0.1');
  t.teardown(() => void wedged.close());
  await once(wedged, 'listening');
  const wedgedPort = (wedged.address() as AddressInfo).port;
  const silent = await runPodkit([
    'db-health',
    '--probe',
    'readiness',
    '--admin-address',
    `127.0.0.1:${wedgedPort}`,
  ]);
  t.equal(silent.code, 1);
  t.match(silent.stderr, /^readiness unknown: .* did not answer: .*(timeout|aborted)/i);

  const bad = await runPodkit(['db-health', '--probe', 'ready']);
  t.equal(bad.code, 2);
  t.equal(
    bad.stderr,
    'podkit db-health: invalid --probe "ready": expected one of liveness, readiness, startup\n',
  );
});

t.test('query results and server messages reach the log, never a probe body', async (t) => {
  // Secret-looking strings in a passing value, a failing value and a server error message: anyone who
  // reaches the admin port reads the probes, only the pod's owner reads its log.
  const passing = 'tok_pass_4f9a1c';
  const failing = 'sk_live_7b2e90';
  const inError = 'pw_table_c3d815';
  const checks = join(tempDir(t), 'checks.yaml');
  const all = '[liveness, readiness, startup]';
  writeFileSync(
    checks,
    [
      `- { name: passing, sql: "SELECT '${passing}'", expect: { regex: '^tok_' }, probes: ${all} }`,
      `- { name: failing, sql: "SELECT '${failing}'", expect: { equals: other }, probes: ${all} }`,
      `- { name: erroring, sql: "SELECT * FROM mysql.${inError}", probes: ${all} }`,
      '',
    ].join('\n'),
  );
  const app = await startAdapter(
    t,
    ['--mysql-url', healthUrl(db), ...fast, '--checks-file', checks, '--log-level', 'debug'],
    { ready: false },
  );
  t.match(await app.waitForLog(ranLine('passing', 'ok')), { observed: passing });
  t.match(await app.waitForLog(failingLine('failing')), { observed: failing });
  t.match(await app.waitForLog(failingLine('erroring')), { reason: new RegExp(inError) });

  const bodies = await Promise.all(
    (['/healthz', '/readyz', '/startupz'] as const).map(async (path) => ({
      path,
      text: await (await fetch(`${app.adminUrl}${path}`)).text(),
    })),
  );
  for (const { path, text } of bodies) {
    for (const secret of [passing, failing, inError])
      t.notOk(text.includes(secret), `${path} does not contain ${secret}`);
    const body = JSON.parse(text) as { checks: Record<string, { detail: { reason: unknown } }> };
    t.equal(body.checks.failing?.detail.reason, 'unexpected result', `${path}: the short reason`);
    t.equal(body.checks.erroring?.detail.reason, 'access denied', `${path}: the short reason`);
  }
  const admin = ['--admin-address', app.adminUrl.replace('http://', '')];
  const exec = await runPodkit(['db-health', '--probe', 'readiness', ...admin]);
  t.equal(exec.code, 1);
  t.equal(
    exec.stdout,
    'readiness not ready: failing: unexpected result; erroring: access denied\n',
    'the exec probe prints the short reasons',
  );
});

t.test('configuration refused with exit 2 before anything listens', async (t) => {
  const withPassword = await runPodkit(['db-health', '--mysql-url', 'mysql://root:hunter2@db:3306/']);
  t.equal(withPassword.code, 2);
  t.equal(
    withPassword.stderr,
    'podkit db-health: --mysql-url must not contain a password (found one for user "root"): put it in --mysql-password-file or PODKIT_MYSQL_PASSWORD\n',
  );
  const missing = await runPodkit(['db-health'], { env: { PODKIT_MYSQL_URL: undefined } });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--mysql-url is required/);

  const dir = tempDir(t);
  const checks = join(dir, 'checks.yaml');
  writeFileSync(
    checks,
    '- name: ok\n  sql: SELECT 1\n- name: typo\n  sql: SELECT 2\n  expect: { minimum: 1 }\n',
  );
  const badFile = await runPodkit([
    'db-health',
    '--mysql-url',
    healthUrl(db),
    '--checks-file',
    checks,
    '--admin-address',
    '127.0.0.1:0',
  ]);
  t.equal(badFile.code, 2);
  t.match(badFile.stderr, `--checks-file ${checks}: check 2 ("typo"): expect has an unknown key "minimum"`);
});
