/**
 * Custom checks from a checks file against a real MariaDB: each expectation kind fails exactly the
 * probes it gates when the data changes, a reload (SIGHUP) applies a good file and refuses a bad one,
 * and a slow query is cut on the server at the check timeout rather than left running.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  createHealthUser,
  failingLine,
  healthUrl,
  metric,
  metricsText,
  probe,
  probeCodes,
  serverConnections,
  startAdapter,
  tempDir,
} from './helpers.js';

const db = await startMariaDb(t);
const name = await db.createDatabase('podkit_health');
await db.query(`CREATE TABLE \`${name}\`.settings (k VARCHAR(32) PRIMARY KEY, v VARCHAR(64))`);
await db.query(`CREATE TABLE \`${name}\`.jobs (id INT AUTO_INCREMENT PRIMARY KEY)`);
await db.query(`CREATE TABLE \`${name}\`.replicas (host VARCHAR(64) PRIMARY KEY)`);
await db.query(
  `INSERT INTO \`${name}\`.settings VALUES ('mode', 'on'), ('workers', '4'), ('release', 'v2.3.1')`,
);
await db.query(`INSERT INTO \`${name}\`.replicas VALUES ('replica-0')`);
await createHealthUser(db, [name]);

const dir = tempDir(t);
const fast = ['--check-interval', '300ms', '--check-timeout', '1s', '--liveness-grace', '0s'];

function checksFile(file: string, text: string): string {
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}

const allKinds = checksFile(
  'all-kinds.yaml',
  `
- name: mode
  sql: SELECT v FROM settings WHERE k = 'mode'
  expect: { equals: "on" }
  probes: [liveness]
- name: backlog
  sql: SELECT COUNT(*) FROM jobs
  expect: { max: 3 }
  probes: [readiness]
- name: workers
  sql: SELECT v FROM settings WHERE k = 'workers'
  expect: { min: 2 }
  probes: [startup]
- name: release
  sql: SELECT v FROM settings WHERE k = 'release'
  expect: { regex: '^v2\\.' }
  probes: [readiness, startup]
- name: replicas
  sql: SELECT host FROM replicas
  expect: { rows: { min: 1 } }
  probes: [liveness, readiness]
`,
);

interface Case {
  check: string;
  probes: string;
  breakIt: string;
  repair: string;
  codes: { liveness: number; readiness: number; startup: number };
  observed: unknown;
  lastError: string;
}

const cases: Case[] = [
  {
    check: 'mode',
    probes: 'liveness',
    breakIt: `UPDATE settings SET v = 'off' WHERE k = 'mode'`,
    repair: `UPDATE settings SET v = 'on' WHERE k = 'mode'`,
    codes: { liveness: 503, readiness: 200, startup: 200 },
    observed: 'off',
    lastError: 'observed "off", expected "on"',
  },
  {
    check: 'backlog',
    probes: 'readiness',
    breakIt: 'INSERT INTO jobs VALUES (), (), (), ()',
    repair: 'DELETE FROM jobs',
    codes: { liveness: 200, readiness: 503, startup: 200 },
    observed: 4,
    lastError: 'observed 4 is above the maximum 3',
  },
  {
    check: 'workers',
    probes: 'startup',
    breakIt: `UPDATE settings SET v = '1' WHERE k = 'workers'`,
    repair: `UPDATE settings SET v = '4' WHERE k = 'workers'`,
    codes: { liveness: 200, readiness: 200, startup: 503 },
    observed: '1',
    lastError: 'observed 1 is below the minimum 2',
  },
  {
    check: 'release',
    probes: 'readiness and startup',
    breakIt: `UPDATE settings SET v = 'v1.9.0' WHERE k = 'release'`,
    repair: `UPDATE settings SET v = 'v2.3.1' WHERE k = 'release'`,
    codes: { liveness: 200, readiness: 503, startup: 503 },
    observed: 'v1.9.0',
    lastError: 'observed "v1.9.0" does not match /^v2\\./',
  },
  {
    check: 'replicas',
    probes: 'liveness and readiness',
    breakIt: 'DELETE FROM replicas',
    repair: `INSERT INTO replicas VALUES ('replica-0')`,
    codes: { liveness: 503, readiness: 503, startup: 200 },
    observed: 0,
    lastError: 'row count 0 is below the minimum 1',
  },
];

t.test('each expectation kind fails exactly the probes it gates', async (t) => {
  const app = await startAdapter(t, ['--mysql-url', healthUrl(db, name), '--checks-file', allKinds, ...fast]);
  const allOk = { liveness: 200, readiness: 200, startup: 200 };
  await waitFor(async () => JSON.stringify(await probeCodes(app.adminUrl)) === JSON.stringify(allOk), {
    what: 'all 200',
  });
  t.same(await probeCodes(app.adminUrl), allOk, 'all checks pass on the initial data');

  for (const c of cases) {
    await t.test(`${c.check} gates ${c.probes}`, async (t) => {
      await db.query(c.breakIt.replace(/\b(settings|jobs|replicas)\b/, `\`${name}\`.$1`));
      const matches = async () => JSON.stringify(await probeCodes(app.adminUrl)) === JSON.stringify(c.codes);
      await waitFor(matches, { what: `${c.check} broken: ${JSON.stringify(c.codes)}` });
      t.same(await probeCodes(app.adminUrl), c.codes, 'only the gated probes fail');
      const path =
        c.codes.readiness === 503 ? '/readyz' : c.codes.liveness === 503 ? '/healthz' : '/startupz';
      const failing = (await probe(app.adminUrl, path)).body.checks[c.check];
      t.match(failing, {
        ok: false,
        detail: { status: 'fail', reason: 'unexpected result', lastReason: 'unexpected result' },
      });
      t.notOk('observed' in (failing?.detail ?? {}), 'the query result stays out of the probe body');
      t.match(await app.waitForLog(failingLine(c.check)), {
        level: 'warn',
        observed: c.observed,
        reason: c.lastError,
      });
      const text = await metricsText(app.adminUrl);
      t.equal(metric(text, 'podkit_db_health_check_success', { check: c.check }), 0);

      await db.query(c.repair.replace(/\b(settings|jobs|replicas)\b/, `\`${name}\`.$1`));
      await waitFor(async () => JSON.stringify(await probeCodes(app.adminUrl)) === JSON.stringify(allOk), {
        what: `${c.check} repaired`,
      });
      t.match((await probe(app.adminUrl, path)).body.checks[c.check], {
        ok: true,
        detail: { status: 'ok', reason: null, lastReason: 'unexpected result' },
      });
    });
  }
  const text = await metricsText(app.adminUrl);
  t.equal(
    metric(text, 'podkit_db_health_check_value', { check: 'backlog' }),
    0,
    'numeric values are exported',
  );
});

t.test(
  'SIGHUP reloads the checks file; a bad file is refused and the previous checks keep serving',
  async (t) => {
    const path = checksFile(
      'reload.yaml',
      '- name: settings-present\n  sql: SELECT COUNT(*) FROM settings\n  expect: { min: 1 }\n',
    );
    const app = await startAdapter(t, ['--mysql-url', healthUrl(db, name), '--checks-file', path, ...fast]);
    t.same(Object.keys((await probe(app.adminUrl, '/readyz')).body.checks), [
      'database-up',
      'settings-present',
    ]);

    writeFileSync(path, '- name: broken\n  sql: SELECT 1\n  expect: { min: 1, equals: 1 }\n');
    app.signal('SIGHUP');
    const refused = await app.waitForLog('reload refused; the previous state keeps serving');
    t.match(refused, {
      code: 'PODKIT_ERR_RELOAD',
      err: `--checks-file ${path}: check 1 ("broken"): expect takes one of`,
    });
    const afterRefusal = await probe(app.adminUrl, '/readyz');
    t.equal(afterRefusal.status, 200);
    t.same(
      Object.keys(afterRefusal.body.checks),
      ['database-up', 'settings-present'],
      'the previous checks still run',
    );

    writeFileSync(
      path,
      [
        '- name: no-such-table',
        '  sql: SELECT COUNT(*) FROM missing_table',
        '- name: not-granted',
        '  sql: SELECT COUNT(*) FROM mysql.user',
        '',
      ].join('\n'),
    );
    app.signal('SIGHUP');
    await app.waitForLog('checks reloaded');
    await waitFor(
      async () => {
        const checks = (await probe(app.adminUrl, '/readyz')).body.checks;
        return Boolean(
          checks['no-such-table']?.detail.lastReason && checks['not-granted']?.detail.lastReason,
        );
      },
      { what: 'the new checks have run' },
    );
    const readyz = await probe(app.adminUrl, '/readyz');
    t.equal(readyz.status, 503);
    t.same(
      Object.keys(readyz.body.checks),
      ['database-up', 'no-such-table', 'not-granted'],
      'the old check is gone',
    );
    t.equal(readyz.body.checks['no-such-table']?.detail.reason, 'query failed');
    t.equal(readyz.body.checks['not-granted']?.detail.reason, 'access denied');
    t.match(
      (await app.waitForLog(failingLine('no-such-table'))).reason,
      /^ER_NO_SUCH_TABLE: Table '.*\.missing_table' doesn't exist$/,
    );
    t.match(
      (await app.waitForLog(failingLine('not-granted'))).reason,
      /^access denied: SELECT command denied to user 'podkit_health'@'127\.0\.0\.1' for table .*user.* \(grant the check's user/,
    );
    const text = await metricsText(app.adminUrl);
    t.equal(
      metric(text, 'podkit_db_health_check_success', { check: 'settings-present' }),
      undefined,
      'its series are gone',
    );
    t.equal(
      metric(text, 'podkit_db_health_check_runs_total', { check: 'settings-present', result: 'success' }),
      undefined,
    );
  },
);

t.test('a query slower than the timeout fails with "timeout" and is cut on the server too', async (t) => {
  const path = checksFile('slow.yaml', '- name: slow\n  sql: SELECT SLEEP(5)\n  expect: { equals: 0 }\n');
  const app = await startAdapter(
    t,
    [
      '--mysql-url',
      healthUrl(db, name),
      '--checks-file',
      path,
      '--check-interval',
      '300ms',
      '--check-timeout',
      '500ms',
    ],
    { ready: false },
  );
  let peak = 0;
  await waitFor(
    async () => {
      peak = Math.max(peak, await serverConnections(db));
      const runs = metric(await metricsText(app.adminUrl), 'podkit_db_health_check_runs_total', {
        check: 'slow',
        result: 'timeout',
      });
      return (runs ?? 0) >= 6;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: '6 timed-out runs of the slow check' },
  );
  const readyz = await probe(app.adminUrl, '/readyz');
  t.equal(readyz.status, 503);
  t.match(readyz.body.checks.slow, {
    ok: false,
    detail: { status: 'fail', reason: 'timed out' },
  });
  t.match(await app.waitForLog(failingLine('slow')), { reason: 'timeout after 500 ms' });
  // Each abandoned SLEEP(5) would otherwise keep a server thread for 5 s: six runs would pile up.
  t.ok(peak <= 2, `at most ${peak} server connections for the adapter's user during six timed-out runs`);
});
