/**
 * npm run demo, as a user would try it: every component in the banner answers and does its job, and
 * Ctrl-C stops everything cleanly.
 */

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { components } from '../../components.js';
import { httpRequest } from '../support/http.js';
import { distDir, spawnNode } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const exec = promisify(execFile);

function find(banner: string, pattern: RegExp, what: string): string {
  const found = pattern.exec(banner)?.[1];
  if (!found) throw new Error(`the banner does not say where ${what} is:\n${banner}`);
  return found;
}

t.test('npm run demo: every component comes up, does its job, and stops cleanly on Ctrl-C', async (t) => {
  const demo = spawnNode(t, join(distDir, 'scripts', 'demo.js'), ['--random-ports']);
  await waitFor(() => demo.text.includes('demo ready'), {
    timeoutMs: 120_000,
    what: `demo ready\n${demo.transcript()}`,
  });
  const banner = demo.text.join('\n');

  const app = find(banner, /curl (http:\/\/127\.0\.0\.1:\d+)\/ {2,}the legacy app/, 'the legacy app');
  t.equal((await httpRequest(`${app}/`)).body, 'Hello from the legacy app\n');

  await t.test('tls-proxy: the legacy app over https', async (t) => {
    const [, cacert, https] =
      /curl --cacert (\S+) (https:\/\/localhost:\d+)\/ {2,}the legacy app over https/.exec(banner) ?? [];
    t.ok(cacert && https, 'in the banner');
    const { stdout } = await exec('curl', ['-sS', '--cacert', cacert as string, '--http2', `${https}/`]);
    t.equal(stdout, 'Hello from the legacy app\n');
  });

  await t.test('config-sync: an edit is published and the app reloads', async (t) => {
    const source = find(banner, /edit (\S+app\.conf) \(greeting = Hi\)/, 'the config source');
    writeFileSync(
      source,
      readFileSync(source, 'utf8').replace(/^greeting = .*$/m, 'greeting = Hi from the demo test'),
    );
    await waitFor(async () => (await httpRequest(`${app}/`)).body === 'Hi from the demo test\n', {
      timeoutMs: 15_000,
      what: 'the new greeting',
    });
    t.equal((await httpRequest(`${app}/health`)).status, 200, 'the app accepted the synced config');
  });

  await t.test('mysql-broker: notes go to MariaDB through the ambassador', async (t) => {
    t.match(
      banner,
      /\[mysql-broker\]/,
      'mariadbd is installed by ensure-system, so the broker is in the demo',
    );
    t.equal((await httpRequest(`${app}/notes`, { method: 'POST', body: 'through the broker' })).status, 201);
    const notes = JSON.parse((await httpRequest(`${app}/notes`)).body) as { body: string }[];
    t.ok(
      notes.some((n) => n.body === 'through the broker'),
      'the app lists the note',
    );
    const stats = JSON.parse((await httpRequest(`${app}/stats`)).body) as { storage: { kind: string } };
    t.equal(stats.storage.kind, 'mysql', 'the app stores in MySQL');
    const [, password, port] =
      /MYSQL_PWD=(\S+) mariadb -h127\.0\.0\.1 -P(\d+) -ulegacy legacy/.exec(banner) ?? [];
    const { stdout } = await exec(
      'mariadb',
      ['-h127.0.0.1', `-P${port}`, '-ulegacy', 'legacy', '-N', '-e', 'SELECT body FROM notes'],
      {
        env: { ...process.env, MYSQL_PWD: password },
      },
    );
    t.match(stdout, /^through the broker$/m);
  });

  await t.test("log-normalizer: the app's error and its stack trace as one JSON record", async (t) => {
    t.match(banner, /\[log-normalizer\]/);
    t.equal((await httpRequest(`${app}/fail`)).status, 500);
    const record = await demo.waitForLog(
      (l) => String(l.source).endsWith('error.log') && l.msg === 'unhandled exception in request handler',
      15_000,
    );
    t.match(record, {
      level: 'error',
      pod: 'legacy-demo',
      stack: /^Error: simulated failure requested at \/fail\n/,
    });
  });

  await t.test('db-health: the database is ready by real queries', async (t) => {
    const admin = find(
      banner,
      /curl (http:\/\/127\.0\.0\.1:\d+)\/readyz {2,}the database's readiness/,
      'db-health',
    );
    const readyz = await httpRequest(`${admin}/readyz`);
    t.equal(readyz.status, 200);
    t.match(readyz.body, /server-version/);
  });

  await t.test('git-pull: a push deploys to the PaaS app', async (t) => {
    const paas = find(banner, /curl (http:\/\/127\.0\.0\.1:\d+)\/ {2,}the PaaS app/, 'the PaaS app');
    t.equal((await httpRequest(`${paas}/`)).body, 'Hello from a git push\n');
    const [, work] = /cd (\S+) && sed -i/.exec(banner) ?? [];
    const sync = find(banner, /curl -X POST (http:\/\/127\.0\.0\.1:\d+\/sync)/, 'POST /sync');
    await exec('sh', ['-c', `sed -i 's/Hello/Hi/' app.mjs && git commit -qam 'say hi' && git push -q`], {
      cwd: work,
    });
    t.equal((await httpRequest(sync, { method: 'POST' })).status, 200);
    await waitFor(async () => (await httpRequest(`${paas}/`)).body === 'Hi from a git push\n', {
      timeoutMs: 15_000,
      what: 'the pushed code live',
    });
  });

  // Every component of this build is in the demo (scripts/demo/ adds its container, with what to try).
  for (const name of Object.keys(components)) {
    t.match(banner, `\n[${name}]\n`, `${name} is in the demo's banner`);
  }

  await t.test(
    'traffic-split: the beta takes its share, the override header picks it, the page shows it',
    async (t) => {
      const split = find(
        banner,
        /curl -i (http:\/\/127\.0\.0\.1:\d+)\/ {2,}X-Podkit-Variant says/,
        'traffic-split',
      );
      const ui = find(
        banner,
        /open (http:\/\/127\.0\.0\.1:\d+\/ui) {2,}the experiment page/,
        'the experiment page',
      );
      const beta = await httpRequest(`${split}/`, { headers: { 'X-Podkit-Variant': 'beta' } });
      t.equal(beta.body, 'Hello from the beta\n');
      const seen = new Set<string>();
      for (let i = 0; i < 60; i++) seen.add((await httpRequest(`${split}/`)).body);
      t.same([...seen].sort(), ['Hello from production\n', 'Hello from the beta\n'], 'both versions answer');
      t.match((await httpRequest(ui)).body, /traffic-split experiment/);
      const data = JSON.parse((await httpRequest(`${ui}/data`)).body);
      t.ok(data.compare.mismatches > 0, 'the next version differs and compare says so');
    },
  );

  demo.signal('SIGINT');
  const exit = await demo.exited;
  t.equal(exit.code, 0, 'every process stopped with exit 0');
  for (const name of ['legacy-app', 'paas-app', 'orders-production', ...Object.keys(components)]) {
    t.match(
      demo.text.join('\n'),
      new RegExp(`demo: ${name} stopped \\(exit 0\\)`),
      `${name} stopped cleanly`,
    );
  }
  await t.rejects(httpRequest(`${app}/`), /ECONNREFUSED/, 'nothing left listening');
});
