/**
 * The adapter's database password, from a file: right, then wrong (a rotated Secret gone bad) and the
 * database down in between; also from the environment in a failed start, and written into --mysql-url.
 * It shows in nothing the adapter wrote or showed: logs at debug, /metrics, the three probe bodies, the
 * exec probe's output, the termination log, --help, /proc/<pid>/cmdline.
 */

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { runPodkit } from '../../../test/support/process.js';
import { adminBodies, leakedSecrets } from '../../../test/support/secrets.js';
import { waitFor } from '../../../test/support/wait.js';
import { metricsText, startAdapter, tempDir } from './helpers.js';

const password = `dbpw-${randomBytes(8).toString('hex')}`;
const wrongPassword = `wrongpw-${randomBytes(8).toString('hex')}`;
const secrets = { password, wrongPassword };

const leaked = (text: string) => leakedSecrets(text, secrets);

t.test('the password is in no log, metric, probe body or command line, through failures', async (t) => {
  const db = await startMariaDb(t);
  await db.query(`CREATE OR REPLACE USER 'cred_check'@'127.0.0.1' IDENTIFIED BY '${password}'`);
  const dir = tempDir(t);
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`);
  const terminationLog = join(dir, 'termination-log');
  const app = await startAdapter(
    t,
    [
      '--mysql-url',
      `mysql://cred_check@${db.host}:${db.port}/`,
      '--mysql-password-file',
      passwordFile,
      '--check-interval',
      '200ms',
      '--log-level',
      'debug',
      '--termination-log',
      terminationLog,
    ],
    { env: { PODKIT_MYSQL_PASSWORD: '' } },
  );
  const seen: string[] = [...(await adminBodies(app.adminUrl))];

  // The Secret rotates to a wrong password while the database restarts: every new connection is refused.
  writeFileSync(passwordFile, `${wrongPassword}\n`);
  await db.stop();
  await waitFor(async () => (await fetch(`${app.adminUrl}/readyz`)).status === 503, { what: '/readyz 503' });
  seen.push(...(await adminBodies(app.adminUrl)));
  await db.start();
  await waitFor(
    async () =>
      /access denied/i.test(JSON.stringify(app.logs)) ||
      /access denied/i.test((await adminBodies(app.adminUrl)).join('')),
    {
      timeoutMs: 30_000,
      what: 'the wrong password refused by the server',
    },
  );
  seen.push(...(await adminBodies(app.adminUrl)));
  const exec = await runPodkit([
    'db-health',
    '--probe',
    'readiness',
    '--admin-address',
    app.adminUrl.replace('http://', ''),
  ]);
  t.equal(exec.code, 1, 'the exec probe fails');
  const cmdline = readFileSync(`/proc/${app.pid}/cmdline`, 'utf8');
  t.match(cmdline, /--mysql-password-file/, 'the command line names the file');

  const everything = [
    ...app.logs.map((line) => JSON.stringify(line)),
    ...app.text,
    ...seen,
    exec.stdout,
    exec.stderr,
    await metricsText(app.adminUrl),
    cmdline,
    readFileSync(terminationLog, { encoding: 'utf8', flag: 'a+' }),
  ].join('\n');
  t.ok(
    app.logs.some((line) => line.level === 'debug'),
    'debug lines were written',
  );
  t.same(leaked(everything), [], 'no password in any of it');
});

t.test('a password from the environment or in --mysql-url stays out of a failed start', async (t) => {
  const dir = tempDir(t);
  for (const [name, args, env] of [
    ['env', ['--mysql-url', 'not a url'], { PODKIT_MYSQL_PASSWORD: password }],
    ['url', ['--mysql-url', `mysql://user:${password}@127.0.0.1:3306/`], {}],
  ] as const) {
    const terminationLog = join(dir, `termination-log-${name}`);
    const failed = await runPodkit(
      ['db-health', ...args, '--termination-log', terminationLog, '--log-level', 'debug'],
      {
        env,
      },
    );
    t.equal(failed.code, 2, `${name}: a configuration error`);
    const written = readFileSync(terminationLog, 'utf8');
    t.match(written, /--mysql-url/, `${name}: the termination log names the option`);
    t.same(
      leaked([written, failed.stdout, failed.stderr].join('\n')),
      [],
      `${name}: no password in it or the output`,
    );
  }
  const help = await runPodkit(['db-health', '--help'], { env: { PODKIT_MYSQL_PASSWORD: password } });
  t.same(leaked(help.stdout + help.stderr), [], 'nor in --help');
});
