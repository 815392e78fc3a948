/**
 * --mysql-ca-file against a real MariaDB serving certificates made for this run: the adapter's own
 * connection is TLS 1.2 or newer, and an untrusted certificate, a wrong host name or a user that
 * requires TLS without it are clear reasons, not stack traces.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CertificateAuthority, writeCert } from '../../../test/support/certs.js';
import { startMariaDb } from '../../../test/support/mariadb.js';
import type { Started } from '../../../test/support/process.js';
import {
  createHealthUser,
  failingLine,
  healthUser,
  latestLog,
  probe,
  ranLine,
  startAdapter,
  tempDir,
} from './helpers.js';

const dir = tempDir(t);
const ca = await CertificateAuthority.create();
const server = await writeCert(dir, 'server', await ca.localhost());
const wrongHost = await writeCert(dir, 'wrong-host', await ca.issue({ commonName: 'db.example' }));
const caFile = join(dir, 'ca.crt');
writeFileSync(caFile, ca.certPem);
const otherCaFile = join(dir, 'other-ca.crt');
writeFileSync(otherCaFile, (await CertificateAuthority.create('another CA')).certPem);

const db = await startMariaDb(t, {
  args: [`--ssl-ca=${caFile}`, `--ssl-cert=${server.cert}`, `--ssl-key=${server.key}`],
});
await createHealthUser(db);
await db.query(`ALTER USER '${healthUser}'@'127.0.0.1' REQUIRE SSL`);
const url = `mysql://${healthUser}@localhost:${db.port}/`;
const fast = ['--check-interval', '300ms', '--check-timeout', '2s'];

const checks = join(dir, 'checks.yaml');
writeFileSync(
  checks,
  [
    '- name: tls-version',
    "  sql: SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version'",
    "  expect: { regex: '^TLSv1\\.[23]$' }",
    '',
  ].join('\n'),
);

/** database-up's failure: the short reason the probe body shows, and the full one the log has. */
async function failure(app: Started): Promise<{ reason: unknown; logged: unknown }> {
  const line = await app.waitForLog(failingLine('database-up'));
  const body = (await probe(app.adminUrl, '/readyz')).body.checks['database-up']?.detail;
  return { reason: body?.reason, logged: line.reason };
}

t.test('with the CA: ready, over TLS 1.2 or newer (seen from the server)', async (t) => {
  const app = await startAdapter(t, [
    '--mysql-url',
    url,
    '--mysql-ca-file',
    caFile,
    '--checks-file',
    checks,
    ...fast,
    '--log-level',
    'debug',
  ]);
  t.match((await probe(app.adminUrl, '/readyz')).body.checks['tls-version'], { ok: true });
  t.match(await latestLog(app, ranLine('tls-version', 'ok')), { observed: /^TLSv1\.[23]$/ });
});

t.test('a user that requires TLS, without --mysql-ca-file: access denied, said plainly', async (t) => {
  const app = await startAdapter(t, ['--mysql-url', url, ...fast], { ready: false });
  t.match(await failure(app), {
    reason: 'access denied',
    logged: /^access denied: Access denied for user 'podkit_health'@/,
  });
});

t.test('a CA that did not sign the server certificate: refused, naming the CA file', async (t) => {
  const app = await startAdapter(t, ['--mysql-url', url, '--mysql-ca-file', otherCaFile, ...fast], {
    ready: false,
  });
  t.match(await failure(app), {
    reason: 'TLS failed',
    logged:
      /^TLS: the server's certificate is not accepted: .*certificate.* \(check --mysql-ca-file and the host in --mysql-url\)$/,
  });
});

t.test('a certificate for another host name: refused', async (t) => {
  const other = await startMariaDb(t, {
    args: [`--ssl-ca=${caFile}`, `--ssl-cert=${wrongHost.cert}`, `--ssl-key=${wrongHost.key}`],
  });
  await createHealthUser(other);
  const app = await startAdapter(
    t,
    ['--mysql-url', `mysql://${healthUser}@localhost:${other.port}/`, '--mysql-ca-file', caFile, ...fast],
    { ready: false },
  );
  t.match(await failure(app), {
    reason: 'TLS failed',
    logged: /^TLS: the server's certificate is not accepted: .*localhost.*db\.example/,
  });
});
