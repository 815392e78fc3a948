/**
 * Secrets around the broker: the app's database password (through the stream, right and wrong), the
 * admin token of POST /quitquitquit (from a file, then from the environment), with a backend down next
 * to the healthy one. None of them shows in anything the broker wrote or showed: logs at debug, /metrics,
 * /readyz, the admin answers, the termination log, /proc/<pid>/cmdline.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { freePort } from '../../../test/support/ports.js';
import { runPodkit } from '../../../test/support/process.js';
import { leakedSecrets } from '../../../test/support/secrets.js';
import { connectVia, mariadbCli, metricsText, startBroker } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'podkit-broker-credentials-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const password = `dbpw-${randomBytes(8).toString('hex')}`;
const wrongPassword = `wrongpw-${randomBytes(8).toString('hex')}`;
const token = `tok-${randomBytes(12).toString('hex')}`;
const wrongToken = `badtok-${randomBytes(8).toString('hex')}`;
const secrets = { password, wrongPassword, token, wrongToken };

const leaked = (text: string) => leakedSecrets(text, secrets);

t.test('passwords and the admin token are in no log, metric, admin answer or command line', async (t) => {
  const db = await startMariaDb(t, { password });
  const down = await freePort();
  const tokenFile = join(dir, 'admin-token');
  writeFileSync(tokenFile, `${token}\n`);
  const terminationLog = join(dir, 'termination-log');
  const broker = await startBroker(t, [
    '--backends',
    `${db.host}:${db.port},127.0.0.1:${down}`,
    '--health-interval',
    '300ms',
    '--quitquitquit',
    '--admin-token-file',
    tokenFile,
    '--log-level',
    'debug',
    '--termination-log',
    terminationLog,
  ]);
  await broker.waitForLog(
    (line) => line.msg === 'backend unhealthy' && String(line.backend).endsWith(`:${down}`),
    30_000,
  );

  const good = await mariadbCli(broker, password, 'SELECT 1');
  t.equal(good.code, 0, good.stderr);
  const bad = await mariadbCli(broker, wrongPassword, 'SELECT 1');
  t.not(bad.code, 0, 'a wrong password is refused by the server');
  t.match(bad.stderr, /Access denied/);
  await t.rejects(connectVia(broker, db, { password: wrongPassword }), { code: 'ER_ACCESS_DENIED_ERROR' });

  const quit = (bearer?: string) =>
    fetch(`${broker.adminUrl}/quitquitquit`, {
      method: 'POST',
      ...(bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {}),
    });
  const refused = [await quit(wrongToken), await quit()];
  t.same(
    refused.map((r) => r.status),
    [401, 401],
    'a wrong or missing token is refused',
  );
  const answers = await Promise.all(refused.map((r) => r.text()));
  const readyz = await (await fetch(`${broker.adminUrl}/readyz`)).text();
  const metrics = await metricsText(broker.adminUrl);
  const cmdline = readFileSync(`/proc/${broker.pid}/cmdline`, 'utf8');
  t.match(cmdline, /--admin-token-file/, 'the command line names the file');

  const accepted = await quit(token);
  t.equal(accepted.status, 200, 'the right token ends the broker');
  const answer = await accepted.text();
  t.equal((await broker.exited).code, 0);

  const everything = [
    ...broker.logs.map((line) => JSON.stringify(line)),
    ...broker.text,
    ...answers,
    answer,
    readyz,
    metrics,
    cmdline,
    readFileSync(terminationLog, { encoding: 'utf8', flag: 'a+' }),
  ].join('\n');
  t.same(leaked(everything), [], 'no secret in any of it');
});

t.test('a token from the environment stays out of a failed start and its termination log', async (t) => {
  const terminationLog = join(dir, 'termination-log-bad-start');
  const failed = await runPodkit(
    [
      'mysql-broker',
      '--backends',
      'not a host:port',
      '--quitquitquit',
      '--termination-log',
      terminationLog,
      '--log-level',
      'debug',
    ],
    { env: { PODKIT_ADMIN_TOKEN: token } },
  );
  t.equal(failed.code, 2, 'a configuration error');
  const written = readFileSync(terminationLog, 'utf8');
  t.match(written, /--backends/, 'the termination log names the option');
  t.same(leaked([written, failed.stdout, failed.stderr].join('\n')), [], 'no secret in it or the output');
  const help = await runPodkit(['mysql-broker', '--help'], { env: { PODKIT_ADMIN_TOKEN: token } });
  t.same(leaked(help.stdout + help.stderr), [], 'nor in --help');
});
