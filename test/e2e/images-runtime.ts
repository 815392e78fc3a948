/**
 * The images test's checks of the runtime tree (scripts/runtime-tree.ts), run inside the built images:
 * the base holds the bundle and the packages it loads from node_modules, and nothing else; and the paths
 * that load those packages work there: config-sync validating YAML (yaml), db-health checking a MariaDB
 * with checks from a YAML file (yaml; mysql2, bundled, decoding the server's answers),
 * mysql-broker's forked workers carrying a query to the same server, and traffic-split serving its
 * experiment page's chart library (uplot's files, read from node_modules).
 */

import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import t from 'tap';
import { imageReference, imageSize } from '../../scripts/images.js';
import { repoRoot } from '../../scripts/repo-root.js';
import {
  bundleOutputs,
  dependencyClosure,
  packageFilesReadAtRunTime,
  packagesLoadedAtRunTime,
  readBundleMeta,
} from '../../scripts/runtime-tree.js';
import { httpRequest } from '../support/http.js';
import { podman, podmanResult, readOnlyRoot, runOnHost } from '../support/images.js';
import { startMariaDb } from '../support/mariadb.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

export interface BuiltImages {
  id: string;
  tag: string;
  /** The node image the base was built from. */
  nodeImage: string;
  /** A directory containers (uid 65532) can enter, removed when the file ends. */
  tempDir(prefix: string): string;
  /** Names containers so that the file removes them when it ends. */
  containers: string[];
}

/** Registers the runtime-tree tests on the images test file, once its images are built. */
export function runtimeTreeTests({ id, tag, nodeImage, tempDir, containers }: BuiltImages): void {
  /** Chunk names without their content hash: `chunks/adapter.js` for `chunks/adapter-DVM3TUJD.js`. */
  const withoutHash = (path: string) => path.replace(/-[A-Z0-9]{8}\.js$/, '.js');

  t.test('base image: only the runtime tree over node, and no npm', async (t) => {
    const reference = imageReference('base', tag);
    // What the image holds, listed by its own node (the local base has no find or du).
    const listing = `
      const { existsSync, readdirSync } = require('node:fs');
      const { join, relative } = require('node:path');
      console.log(JSON.stringify({
        dist: readdirSync('/app/dist', { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => relative('/app', join(entry.parentPath, entry.name))),
        modules: readdirSync('/app/node_modules'),
        npm: ['/usr/local/lib/node_modules/npm', '/usr/local/bin/npm', '/usr/local/bin/npx'].filter((p) => existsSync(p)),
      }));`;
    const inside = JSON.parse(
      await podman(['run', '--rm', '--entrypoint', 'node', reference, '-e', listing]),
    ) as {
      dist: string[];
      modules: string[];
      npm: string[];
    };
    // The host's build of the same sources: the same outputs (their hashes aside) and the same packages.
    const meta = readBundleMeta();
    t.same(
      inside.dist.map(withoutHash).sort(),
      bundleOutputs(meta).map(withoutHash).sort(),
      "/app/dist is the bundle's outputs: no source maps, no unbundled tsc output",
    );
    const readFrom = packageFilesReadAtRunTime(meta).map((file) => file.split('/')[1] as string);
    t.same(
      inside.modules.sort(),
      [
        ...new Set([
          ...dependencyClosure(packagesLoadedAtRunTime(meta).keys()).map((dir) =>
            dir.replace(/^node_modules\//, ''),
          ),
          ...readFrom,
        ]),
      ].sort(),
      '/app/node_modules holds what the bundle loads or reads from it, with their dependencies, and nothing else',
    );
    t.same(inside.npm, [], 'npm and npx are removed');

    const [base, node] = [imageSize('podman', reference), imageSize('podman', nodeImage)];
    const megabytes = (bytes: number) => (bytes / 1e6).toFixed(1);
    t.comment(
      `base ${megabytes(base)} MB: node image ${megabytes(node)} MB + podkit ${megabytes(base - node)} MB`,
    );
    // Far above the runtime tree, far below every production dependency (what the image used to carry).
    t.ok(base - node < 20e6, `podkit adds ${megabytes(base - node)} MB to the node image, under 20 MB`);
  });

  t.test('config-sync image: YAML is validated before it is published', async (t) => {
    const source = tempDir('podkit-image-source-');
    const target = tempDir('podkit-image-target-');
    chmodSync(target, 0o777);
    const good = 'features:\n  beta: true\n';
    const sync = () =>
      podmanResult([
        'run',
        '--rm',
        '--network',
        'none',
        ...readOnlyRoot,
        '-v',
        `${source}:/source:ro`,
        '-v',
        `${target}:/config`,
        imageReference('config-sync', tag),
        '--one-time',
        '--source',
        'dir',
        '--source-dir',
        '/source',
        '--target-dir',
        '/config',
      ]);
    writeFileSync(join(source, 'app.yaml'), good, { mode: 0o644 });
    const published = await sync();
    t.equal(published.code, 0, 'valid YAML is published: exit 0', {
      output: published.stdout + published.stderr,
    });
    t.equal(readFileSync(join(target, 'app.yaml'), 'utf8'), good);

    writeFileSync(join(source, 'app.yaml'), 'features: [beta\n', { mode: 0o644 });
    const refused = await sync();
    t.equal(refused.code, 1, 'a YAML syntax error is refused: exit 1', {
      output: refused.stdout + refused.stderr,
    });
    t.match(
      refused.stdout,
      /"code":"PODKIT_ERR_VALIDATION".*app\.yaml: invalid YAML: /,
      'the log names the file',
    );
    t.equal(readFileSync(join(target, 'app.yaml'), 'utf8'), good, 'the last good version stays');
  });

  t.test('db-health and mysql-broker images against a real MariaDB', async (t) => {
    const db = await startMariaDb(t);
    const database = await db.createDatabase('podkit_image');
    // A latin1 table: its text reaches both containers converted by the server, and must arrive intact.
    await db.query(
      `CREATE TABLE \`${database}\`.settings (name VARCHAR(32) PRIMARY KEY, value VARCHAR(32)) CHARACTER SET latin1`,
    );
    await db.query(`INSERT INTO \`${database}\`.settings VALUES ('greeting', 'café')`);
    // mysql-broker's health check logs in as this user, without a password, to finish the handshake.
    await db.query(`CREATE OR REPLACE USER 'podkit-health'@'127.0.0.1'`);
    const dir = tempDir('podkit-image-db-');
    writeFileSync(
      join(dir, 'checks.yaml'),
      `- name: greeting\n  sql: SELECT value FROM ${database}.settings WHERE name = 'greeting'\n  expect: { equals: "café" }\n`,
      { mode: 0o644 },
    );
    const healthAdmin = await freePort();
    const [brokerPort, brokerAdmin] = [await freePort(), await freePort()];
    const health = `podkit-db-health-${id}`;
    const broker = `podkit-mysql-broker-${id}`;
    containers.push(health, broker);
    // Host networking: the database listens on the host's loopback, as it would on the pod's.
    await runOnHost(health, [
      '-e',
      `PODKIT_MYSQL_PASSWORD=${db.password}`,
      '-v',
      `${dir}:/etc/podkit:ro`,
      imageReference('db-health', tag),
      '--mysql-url',
      `mysql://root@127.0.0.1:${db.port}/`,
      '--checks-file',
      '/etc/podkit/checks.yaml',
      '--check-interval',
      '1s',
      '--admin-address',
      `127.0.0.1:${healthAdmin}`,
      // The value a check read is in its debug "check ran" line, not in the (public) probe body.
      '--log-level',
      'debug',
    ]);
    // Two workers: the broker forks its bundled worker script.
    await runOnHost(broker, [
      imageReference('mysql-broker', tag),
      '--listen',
      `127.0.0.1:${brokerPort}`,
      '--backends',
      `127.0.0.1:${db.port}`,
      '--workers',
      '2',
      '--admin-address',
      `127.0.0.1:${brokerAdmin}`,
    ]);
    const logsOnFailure = (name: string) => async (err: Error) => {
      throw new Error(`${err.message}\n${await podman(['logs', name]).catch((e: Error) => e.message)}`);
    };

    let readiness: { status: number; body: string } | undefined;
    await waitFor(
      async () => {
        readiness = await httpRequest(`http://127.0.0.1:${healthAdmin}/readyz`).catch(() => undefined);
        return readiness?.status === 200;
      },
      { timeoutMs: 30_000, what: 'db-health /readyz 200' },
    ).catch(logsOnFailure(health));
    const greeting = JSON.parse(readiness?.body ?? '{}').checks?.greeting;
    t.equal(greeting?.ok, true, 'the check from the YAML file passes');
    const ran = (await podman(['logs', health]))
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) => JSON.parse(line) as { msg?: string; check?: string; status?: string; observed?: unknown },
      )
      .find((line) => line.msg === 'check ran' && line.check === 'greeting' && line.status === 'ok');
    t.equal(ran?.observed, 'café', 'with the text of the latin1 column');

    await waitFor(
      async () =>
        (await httpRequest(`http://127.0.0.1:${brokerAdmin}/readyz`).catch(() => undefined))?.status === 200,
      { timeoutMs: 30_000, what: 'mysql-broker /readyz 200' },
    ).catch(logsOnFailure(broker));
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: brokerPort,
      user: db.user,
      password: db.password,
    });
    t.teardown(() => conn.destroy());
    const [rows] = await conn.query(`SELECT value FROM \`${database}\`.settings`);
    t.same(rows, [{ value: 'café' }], 'a query through the broker gets its answer');
    await conn.end();

    for (const name of [health, broker]) {
      await podman(['stop', '--time', '15', name]);
      const state = JSON.parse(await podman(['inspect', name]))[0].State;
      t.equal(state.ExitCode, 0, `${name} exits 0 on SIGTERM`);
    }
  });

  t.test('traffic-split image: requests reach the primary, the experiment page serves uPlot', async (t) => {
    const upstream = createServer((_req, res) => res.end('from the primary'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const [port, admin] = [await freePort(), await freePort()];
    const name = `podkit-traffic-split-${id}`;
    containers.push(name);
    await runOnHost(name, [
      imageReference('traffic-split', tag),
      '--listen',
      `127.0.0.1:${port}`,
      '--primary',
      `http://127.0.0.1:${upstreamPort}`,
      '--admin-address',
      `127.0.0.1:${admin}`,
    ]);
    await waitFor(
      async () =>
        (await httpRequest(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200,
      { timeoutMs: 30_000, what: 'traffic-split /readyz 200' },
    );
    const answer = await httpRequest(`http://127.0.0.1:${port}/`);
    t.equal(answer.body, 'from the primary');
    t.equal(answer.headers['x-podkit-variant'], 'primary');
    const script = await httpRequest(`http://127.0.0.1:${admin}/ui/uplot.js`);
    t.equal(script.status, 200, '/ui/uplot.js is served from the image');
    t.equal(script.body, readFileSync(join(repoRoot, 'node_modules/uplot/dist/uPlot.iife.min.js'), 'utf8'));
    await podman(['stop', '--time', '15', name]);
    t.equal(JSON.parse(await podman(['inspect', name]))[0].State.ExitCode, 0, 'exits 0 on SIGTERM');
  });
}
