/**
 * The exporter's Redis and MySQL passwords, from files: right; then Redis's rotated on the server before
 * its Secret (refused, then used once the file has it), and MySQL's Secret gone bad across a MariaDB
 * restart; also from the environment in a failed start, and written into the URLs. They show in nothing the exporter wrote or showed: logs at debug,
 * /metrics, the probe bodies, the termination log, --help, /proc/<pid>/cmdline.
 */

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import t from 'tap';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { runPodkit } from '../../../test/support/process.js';
import { startRedis } from '../../../test/support/redis.js';
import { adminBodies, leakedSecrets } from '../../../test/support/secrets.js';
import { waitFor } from '../../../test/support/wait.js';
import { checkedMetrics, metricValue, startExporter, tempDir } from './helpers.js';

const secrets = {
  redisPassword: `redispw-${randomBytes(8).toString('hex')}`,
  mysqlPassword: `mysqlpw-${randomBytes(8).toString('hex')}`,
  rotatedRedisPassword: `rotatedredis-${randomBytes(8).toString('hex')}`,
  wrongMysqlPassword: `wrongmysql-${randomBytes(8).toString('hex')}`,
};

const leaked = (text: string) => leakedSecrets(text, secrets);

const up = async (adminUrl: string, source: string) =>
  metricValue((await checkedMetrics(adminUrl)) ?? '', `podkit_metrics_exporter_up{source="${source}"}`);

t.test('the passwords are in no log, metric, probe body or command line, through failures', async (t) => {
  const [redis, db] = await Promise.all([
    startRedis(t, ['--requirepass', secrets.redisPassword]),
    startMariaDb(t),
  ]);
  await db.query(`CREATE OR REPLACE USER 'cred_check'@'127.0.0.1' IDENTIFIED BY '${secrets.mysqlPassword}'`);
  await db.query(`GRANT PROCESS ON *.* TO 'cred_check'@'127.0.0.1'`);
  const dir = tempDir();
  const redisPasswordFile = join(dir, 'redis-password');
  const mysqlPasswordFile = join(dir, 'mysql-password');
  writeFileSync(redisPasswordFile, `${secrets.redisPassword}\n`);
  writeFileSync(mysqlPasswordFile, `${secrets.mysqlPassword}\n`);
  const terminationLog = join(dir, 'termination-log');
  const exporter = await startExporter(t, [
    ...['--redis-url', `${redis.url}/0`, '--redis-password-file', redisPasswordFile],
    ...['--mysql-url', `mysql://cred_check@${db.host}:${db.port}/`],
    ...['--mysql-password-file', mysqlPasswordFile],
    ...['--log-level', 'debug', '--termination-log', terminationLog],
  ]);
  await waitFor(async () => (await up(exporter.adminUrl, 'redis')) === 1, { what: 'redis up 1' });
  await waitFor(async () => (await up(exporter.adminUrl, 'mysql')) === 1, { what: 'mysql up 1' });
  const seen: string[] = [...(await adminBodies(exporter.adminUrl))];
  seen.push((await checkedMetrics(exporter.adminUrl)) ?? '');

  // Redis's password is rotated on the server first: the exporter's connection is cut and its file still
  // holds the old one. MySQL's Secret goes bad while MariaDB restarts, so a new connection is refused.
  const admin = new Redis({ port: redis.port, host: '127.0.0.1', password: secrets.redisPassword });
  t.teardown(() => admin.disconnect());
  await admin.config('SET', 'requirepass', secrets.rotatedRedisPassword);
  await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  writeFileSync(mysqlPasswordFile, `${secrets.wrongMysqlPassword}\n`);
  await db.stop();
  await db.start();
  await waitFor(async () => (await up(exporter.adminUrl, 'redis')) === 0, {
    what: 'redis up 0: the old password refused',
  });
  await waitFor(() => /WRONGPASS/.test(JSON.stringify(exporter.logs)), { what: "Redis's refusal logged" });
  await waitFor(async () => (await up(exporter.adminUrl, 'mysql')) === 0, {
    timeoutMs: 30_000,
    what: 'mysql up 0: the wrong password refused',
  });
  await waitFor(() => /access denied/i.test(JSON.stringify(exporter.logs)), {
    timeoutMs: 30_000,
    what: "MariaDB's refusal logged",
  });
  seen.push(...(await adminBodies(exporter.adminUrl)));
  seen.push((await checkedMetrics(exporter.adminUrl)) ?? '');
  // The rotated password reaches the file: read at the next scrape, used at the next reconnect.
  writeFileSync(redisPasswordFile, `${secrets.rotatedRedisPassword}\n`);
  await waitFor(async () => (await up(exporter.adminUrl, 'redis')) === 1, {
    timeoutMs: 30_000,
    what: 'redis up 1 with the rotated password',
  });
  seen.push(...(await adminBodies(exporter.adminUrl)));
  seen.push((await checkedMetrics(exporter.adminUrl)) ?? '');
  const cmdline = readFileSync(`/proc/${exporter.pid}/cmdline`, 'utf8');
  t.match(cmdline, /--redis-password-file/, 'the command line names the files');

  const everything = [
    ...exporter.logs.map((line) => JSON.stringify(line)),
    ...exporter.text,
    ...seen,
    cmdline,
    readFileSync(terminationLog, { encoding: 'utf8', flag: 'a+' }),
  ].join('\n');
  t.ok(
    exporter.logs.some((line) => line.level === 'debug'),
    'debug lines were written',
  );
  t.same(leaked(everything), [], 'no password in any of it');
});

t.test('passwords from the environment or in the URLs stay out of a failed start', async (t) => {
  const dir = tempDir();
  for (const [name, args, env] of [
    [
      'env',
      ['--redis-url', 'not a url', '--mysql-url', 'mysql://u@127.0.0.1:1/'],
      { PODKIT_REDIS_PASSWORD: secrets.redisPassword, PODKIT_MYSQL_PASSWORD: secrets.mysqlPassword },
    ],
    ['redis url', ['--redis-url', `redis://u:${secrets.redisPassword}@127.0.0.1:1/0`], {}],
    ['mysql url', ['--mysql-url', `mysql://u:${secrets.mysqlPassword}@127.0.0.1:1/`], {}],
  ] as const) {
    const terminationLog = join(dir, `termination-log-${name.replace(' ', '-')}`);
    const failed = await runPodkit(
      ['metrics-exporter', ...args, '--termination-log', terminationLog, '--log-level', 'debug'],
      { env },
    );
    t.equal(failed.code, 2, `${name}: a configuration error`);
    const written = readFileSync(terminationLog, 'utf8');
    t.match(written, /--(redis|mysql)-url/, `${name}: the termination log names the option`);
    t.same(
      leaked([written, failed.stdout, failed.stderr].join('\n')),
      [],
      `${name}: no password in it or the output`,
    );
  }
  const help = await runPodkit(['metrics-exporter', '--help'], {
    env: { PODKIT_REDIS_PASSWORD: secrets.redisPassword, PODKIT_MYSQL_PASSWORD: secrets.mysqlPassword },
  });
  t.same(leaked(help.stdout + help.stderr), [], 'nor in --help');
});
