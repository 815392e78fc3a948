/**
 * The demo pod: the legacy app stores its notes in MySQL at the broker's address, and they land in the
 * private MariaDB behind it.
 */

import { join } from 'node:path';
import t from 'tap';
import { httpRequest } from '../../../test/support/http.js';
import { distDir, spawnNode } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { mariadbCli } from './helpers.js';

t.test('npm run demo: the legacy app stores its notes through mysql-broker', async (t) => {
  const demo = spawnNode(t, join(distDir, 'scripts', 'demo.js'), ['--random-ports']);
  await waitFor(() => demo.text.includes('demo ready'), {
    timeoutMs: 90_000,
    what: `demo ready\n${demo.transcript()}`,
  });
  const banner = demo.text.join('\n');
  const app = /curl (http:\/\/127\.0\.0\.1:\d+)\/ {2,}the legacy app/.exec(banner)?.[1];
  const broker = /mysql-broker on 127\.0\.0\.1:(\d+) -> MariaDB/.exec(banner)?.[1];
  const password = /MYSQL_PWD=(\S+) mariadb/.exec(banner)?.[1];
  t.ok(app && broker && password, 'the banner says where the app and the broker are');

  const note = `stored through the ambassador ${Date.now()}`;
  const created = await httpRequest(`${app}/notes`, { method: 'POST', body: note });
  t.equal(created.status, 201, created.body);
  const notes = JSON.parse((await httpRequest(`${app}/notes`)).body) as { body: string }[];
  t.ok(
    notes.some((n) => n.body === note),
    'the app lists the note',
  );
  const stats = JSON.parse((await httpRequest(`${app}/stats`)).body) as { storage: { kind: string } };
  t.equal(stats.storage.kind, 'mysql');

  // The same row, read through the broker with the mariadb client, as the banner suggests.
  const cli = await mariadbCli(
    { host: '127.0.0.1', port: Number(broker) },
    password as string,
    'SELECT body FROM legacy.notes',
    30_000,
    'legacy',
  );
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, note);

  demo.signal('SIGINT');
  t.equal((await demo.exited).code, 0, 'every process stopped with exit 0');
  t.match(demo.text.join('\n'), /demo: mysql-broker stopped \(exit 0\)/);
});
