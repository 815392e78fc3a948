/**
 * POST /quitquitquit is off unless --quitquitquit turns it on (as in cloud-sql-proxy): off, it is a 404
 * and the broker goes on brokering; on, it ends the broker with exit 0 (a Job can complete), and with
 * --admin-token-file only for the right bearer token.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { backendArg, mariadbCli, startBroker } from './helpers.js';

const quit = (adminUrl: string, headers: Record<string, string> = {}) =>
  fetch(`${adminUrl}/quitquitquit`, { method: 'POST', headers });

t.test('POST /quitquitquit', async (t) => {
  const db = await startMariaDb(t);

  t.test('off by default: 404 naming the option, and the broker carries on', async (t) => {
    const broker = await startBroker(t, ['--backends', backendArg(db)]);
    const answer = await quit(broker.adminUrl);
    t.equal(answer.status, 404, 'the route does not exist for callers, as in cloud-sql-proxy');
    t.match(((await answer.json()) as { error: string }).error, /--quitquitquit/);
    const cli = await mariadbCli(broker, db.password, 'SELECT 41 + 1');
    t.equal(cli.stdout.trim(), '42', 'still brokering after the refused request');
    t.equal(broker.exit, undefined, 'still running');
  });

  t.test('--quitquitquit: the broker ends with exit 0', async (t) => {
    const broker = await startBroker(t, ['--backends', backendArg(db), '--quitquitquit']);
    const answer = await quit(broker.adminUrl);
    t.equal(answer.status, 200);
    t.equal((await broker.exited).code, 0);
  });

  t.test('--admin-token-file: 401 without or with a wrong token, 200 with the right one', async (t) => {
    const dir = t.testdir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'right-token\n');
    const broker = await startBroker(t, [
      '--backends',
      backendArg(db),
      '--quitquitquit',
      '--admin-token-file',
      tokenFile,
    ]);
    const none = await quit(broker.adminUrl);
    t.equal(none.status, 401, 'no token');
    t.equal(none.headers.get('www-authenticate'), 'Bearer realm="mysql-broker"');
    t.equal(
      (await quit(broker.adminUrl, { authorization: 'Bearer wrong-token' })).status,
      401,
      'wrong token',
    );
    t.equal(
      (await quit(broker.adminUrl, { authorization: 'Bearer right-token-' })).status,
      401,
      'a longer one',
    );
    const cli = await mariadbCli(broker, db.password, 'SELECT 41 + 1');
    t.equal(cli.stdout.trim(), '42', 'still brokering after the refused requests');
    const accepted = await quit(broker.adminUrl, { authorization: 'Bearer right-token' });
    t.equal(accepted.status, 200);
    t.equal((await broker.exited).code, 0);
  });

  t.test('the token from the environment works too', async (t) => {
    const broker = await startBroker(t, ['--backends', backendArg(db), '--quitquitquit'], {
      env: { PODKIT_MYSQL_BROKER_ADMIN_TOKEN: 'env-token' },
    });
    t.equal((await quit(broker.adminUrl, { authorization: 'Bearer nope' })).status, 401);
    t.equal((await quit(broker.adminUrl, { authorization: 'Bearer env-token' })).status, 200);
    t.equal((await broker.exited).code, 0);
  });
});
