/**
 * npm run demo [-- --random-ports]
 *
 * Runs the legacy app and every podkit component that exists so far as local processes wired like one
 * pod (shared loopback, shared directories), prints what to open and what to try, and stops everything
 * cleanly on Ctrl-C. Each component issue adds its container to `podContainers` below.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { repoRoot } from './repo-root.js';

interface DemoContainer {
  name: string;
  /** Script under dist/ and its arguments. */
  script: string;
  args: string[];
  /** URL that answers 2xx once the container is up. */
  readyUrl: string;
  /** Lines for the banner: what to open, what to try. */
  tryLines: string[];
}

interface DemoContext {
  dir: string;
  port(preferred: number): Promise<number>;
  /** Run when the demo stops, after every container (e.g. a database the demo started). */
  teardown(fn: () => unknown): void;
}

async function podContainers(ctx: DemoContext): Promise<DemoContainer[]> {
  const appPort = await ctx.port(8080);
  const logDir = join(ctx.dir, 'legacy-logs');
  mkdirSync(logDir, { recursive: true });
  const config = join(ctx.dir, 'legacy-app.conf');
  const broker = await mysqlBroker(ctx);
  writeFileSync(
    config,
    `port = ${appPort}\ngreeting = Hello from the legacy app\nlog_dir = ${logDir}\npid_file = ${join(ctx.dir, 'legacy-app.pid')}\n${broker?.legacyConfig ?? ''}`,
  );
  return [
    ...(broker ? [broker.container] : []),
    {
      name: 'legacy-app',
      script: 'examples/legacy-app/src/main.js',
      args: ['-c', config],
      readyUrl: `http://127.0.0.1:${appPort}/health`,
      tryLines: [
        `curl http://127.0.0.1:${appPort}/             the legacy app (loopback only, like in a pod)`,
        `curl http://127.0.0.1:${appPort}/stats        its own JSON stats (not Prometheus)`,
        `edit ${config} then: kill -HUP $(cat ${join(ctx.dir, 'legacy-app.pid')})   reload without dropping connections`,
        `tail -f ${join(logDir, 'info.log')} ${join(logDir, 'error.log')}   its plain-text logs (curl /fail for a stack trace)`,
        ...(broker
          ? [
              `curl -d 'a note' http://127.0.0.1:${appPort}/notes; curl http://127.0.0.1:${appPort}/notes   notes stored in MySQL through mysql-broker`,
            ]
          : []),
      ],
    },
  ];
}

/**
 * mysql-broker, the ambassador: the legacy app stores its notes in MySQL at 127.0.0.1:3306, and the broker
 * passes them on to a private MariaDB (the database outside the pod). Without MariaDB on this machine the
 * demo says so and runs the app with in-memory notes.
 */
async function mysqlBroker(
  ctx: DemoContext,
): Promise<{ container: DemoContainer; legacyConfig: string } | undefined> {
  const { mariaDbAvailable, startMariaDb } = await import('../test/support/mariadb.js');
  let db: Awaited<ReturnType<typeof startMariaDb>>;
  try {
    if (!mariaDbAvailable()) throw new Error('mariadbd is not installed (Debian package mariadb-server)');
    db = await startMariaDb({ teardown: (fn) => ctx.teardown(fn) });
  } catch (err) {
    console.log(
      `demo: no MariaDB here (${(err as Error).message}): mysql-broker is left out, notes stay in memory`,
    );
    return undefined;
  }
  const password = 'legacy-demo-password';
  await db.query(`CREATE USER 'legacy'@'127.0.0.1' IDENTIFIED BY '${password}'`);
  await db.query(`GRANT ALL ON legacy.* TO 'legacy'@'127.0.0.1'`);
  const passwordFile = join(ctx.dir, 'legacy-mysql-password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const port = await ctx.port(3306);
  const admin = await ctx.port(9404);
  return {
    legacyConfig: `storage = mysql\nmysql_host = 127.0.0.1\nmysql_port = ${port}\nmysql_user = legacy\nmysql_password_file = ${passwordFile}\nmysql_database = legacy\n`,
    container: {
      name: 'mysql-broker',
      script: 'cli.js',
      args: [
        'mysql-broker',
        '--listen',
        `127.0.0.1:${port}`,
        '--backends',
        `${db.host}:${db.port}`,
        '--admin-address',
        `127.0.0.1:${admin}`,
      ],
      readyUrl: `http://127.0.0.1:${admin}/readyz`,
      tryLines: [
        `mysql-broker on 127.0.0.1:${port} -> MariaDB at ${db.host}:${db.port} (a private server the demo started)`,
        `MYSQL_PWD=${password} mariadb -h127.0.0.1 -P${port} -ulegacy legacy -e 'SELECT * FROM notes'   the app's notes, through the broker`,
        `curl http://127.0.0.1:${admin}/readyz; curl -s http://127.0.0.1:${admin}/metrics | grep podkit_mysql_broker`,
      ],
    },
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function anyPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with code ${child.exitCode} during start-up`);
    const ok = await fetch(url)
      .then((res) => res.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${name} did not become ready at ${url}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'random-ports': { type: 'boolean', default: false } } });
  const dir = mkdtempSync(join(tmpdir(), 'podkit-demo-'));
  const teardowns: (() => unknown)[] = [];
  const ctx: DemoContext = {
    dir,
    port: async (preferred) =>
      !values['random-ports'] && (await portFree(preferred)) ? preferred : anyPort(),
    teardown: (fn) => teardowns.push(fn),
  };
  const containers = await podContainers(ctx);
  const running: { name: string; child: ChildProcess }[] = [];
  let stopping = false;

  const stopAll = async (): Promise<number> => {
    stopping = true;
    let failures = 0;
    // Reverse order, as the kubelet stops sidecars after the app they serve.
    for (const { name, child } of [...running].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      if (code !== 0) failures++;
      console.log(`demo: ${name} stopped (exit ${code})`);
    }
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
    return failures === 0 ? 0 : 1;
  };

  try {
    for (const container of containers) {
      const child = spawn(process.execPath, [join(repoRoot, 'dist', container.script), ...container.args], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      running.push({ name: container.name, child });
      child.once('exit', (code) => {
        if (!stopping) console.error(`demo: ${container.name} exited unexpectedly (code ${code})`);
      });
      await waitReady(container.readyUrl, child, container.name);
    }
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    await stopAll();
    return 1;
  }

  console.log(
    [
      '',
      '== podkit demo: one pod, run as local processes ==',
      ...containers.flatMap((c) => [`[${c.name}]`, ...c.tryLines.map((line) => `  ${line}`)]),
      '',
      `files: ${dir}`,
      'Ctrl-C stops everything.',
      'demo ready',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('\ndemo: stopping');
  return stopAll();
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo: ${(err as Error).stack}`);
    process.exit(1);
  },
);
