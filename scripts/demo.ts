/**
 * npm run demo [-- --random-ports]
 *
 * Runs the legacy app and every podkit component that exists so far as local processes wired like one
 * pod (shared loopback, shared directories), prints what to open and what to try, and stops everything
 * cleanly on Ctrl-C. Each component issue adds its container to `podContainers` below.
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startMariaDb } from '../test/support/mariadb.js';
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
  const containers: DemoContainer[] = [
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
    await tlsProxyContainer(ctx, appPort),
    ...(await gitPaas(ctx)),
    ...(await dbHealthContainer(ctx)),
  ];
  return containers;
}

/** The git-push PaaS: a repository made here, an app served from the synced tree, git-pull between them. */
async function gitPaas(ctx: DemoContext): Promise<DemoContainer[]> {
  const dir = join(ctx.dir, 'paas');
  const bare = join(dir, 'site.git');
  const work = join(dir, 'site');
  const volume = join(dir, 'volume');
  mkdirSync(dir, { recursive: true });
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'ignore' });
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  git(dir, 'clone', '--quiet', bare, work);
  git(work, 'config', 'user.name', 'podkit demo');
  git(work, 'config', 'user.email', 'demo@podkit.invalid');
  writeFileSync(join(work, 'app.mjs'), "export default (req, res) => res.end('Hello from a git push\\n');\n");
  git(work, 'add', 'app.mjs');
  git(work, 'commit', '--quiet', '-m', 'first deploy');
  git(work, 'push', '--quiet', 'origin', 'HEAD:main');
  const appPort = await ctx.port(8090);
  const adminPort = await ctx.port(9403);
  const title = `podkit-paas-${process.pid}`;
  return [
    {
      name: 'paas-app',
      script: 'examples/git-paas/src/host.js',
      args: ['--tree', join(volume, 'site'), '--port', String(appPort), '--title', title],
      readyUrl: `http://127.0.0.1:${appPort}/healthz`,
      tryLines: [
        `curl http://127.0.0.1:${appPort}/             the PaaS app: its code comes from the synced git tree`,
      ],
    },
    {
      name: 'git-pull',
      script: 'cli.js',
      args: [
        'git-pull',
        '--repo',
        `file://${bare}`,
        '--root',
        volume,
        '--link',
        'site',
        '--signal',
        'SIGHUP',
        '--process-name',
        title,
        '--admin-address',
        `127.0.0.1:${adminPort}`,
      ],
      readyUrl: `http://127.0.0.1:${adminPort}/readyz`,
      tryLines: [
        `cd ${work} && sed -i 's/Hello/Hi/' app.mjs && git commit -qam 'say hi' && git push -q   deploy by push`,
        `curl -X POST http://127.0.0.1:${adminPort}/sync   live now (else within the 10 s period), the app reloads on SIGHUP`,
        `ls -l ${volume}    one worktree per commit; 'site' is swapped atomically`,
        `curl -s http://127.0.0.1:${adminPort}/metrics | grep podkit_git_pull_`,
      ],
    },
  ];
}

/**
 * db-health beside a private MariaDB (the database container of the pod), when mariadbd is installed.
 * The server is killed with the demo process (test/support/mariadb.ts); without one, the demo says so.
 */
async function dbHealthContainer(ctx: DemoContext): Promise<DemoContainer[]> {
  const db = await startMariaDb({ teardown() {} }).catch(() => undefined);
  if (!db?.controllable) {
    console.log('demo: db-health left out: it needs mariadbd (apt-get install mariadb-server)');
    return [];
  }
  const password = join(ctx.dir, 'db-health-password');
  writeFileSync(password, db.password);
  const checks = join(ctx.dir, 'db-health-checks.yaml');
  writeFileSync(checks, '- name: server-version\n  sql: SELECT VERSION()\n  expect: { regex: MariaDB }\n');
  const admin = `127.0.0.1:${await ctx.port(9408)}`;
  const sql = `mariadb -h 127.0.0.1 -P ${db.port} -u root -p${db.password}`;
  return [
    {
      name: 'db-health',
      script: 'cli.js',
      args: [
        'db-health',
        '--mysql-url',
        db.url,
        '--mysql-password-file',
        password,
        '--require-writable',
      ].concat(['--checks-file', checks, '--check-interval', '2s', '--admin-address', admin]),
      readyUrl: `http://${admin}/readyz`,
      tryLines: [
        `curl http://${admin}/readyz          the database's readiness from real queries (also /healthz, /startupz, /metrics)`,
        `${sql} -e 'SET GLOBAL read_only = 1'   then /readyz turns 503: "the server is read-only" (= 0 to undo)`,
        `node dist/cli.js db-health --probe readiness --admin-address ${admin}; echo $?   the exec-probe form`,
        `edit ${checks} then: pkill -HUP -f 'cli.js db-health'   reload the custom checks`,
      ],
    },
  ];
}

/** tls-proxy: the legacy app over https, with a self-signed certificate made at demo start. */
async function tlsProxyContainer(ctx: DemoContext, appPort: number): Promise<DemoContainer> {
  const tlsPort = await ctx.port(8443);
  const adminPort = await ctx.port(9401);
  const cert = join(ctx.dir, 'tls.crt');
  const key = join(ctx.dir, 'tls.key');
  const makeCert = [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '7',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ];
  const made = spawnSync('openssl', makeCert, { stdio: 'ignore' });
  if (made.status !== 0) throw new Error('openssl could not make the demo certificate');
  const https = `https://localhost:${tlsPort}`;
  return {
    name: 'tls-proxy',
    script: 'cli.js',
    args: [
      'tls-proxy',
      '--listen',
      `127.0.0.1:${tlsPort}`,
      '--upstream',
      `http://127.0.0.1:${appPort}`,
      '--cert-file',
      cert,
      '--key-file',
      key,
      '--admin-address',
      `127.0.0.1:${adminPort}`,
      '--hsts-max-age',
      '300',
    ],
    readyUrl: `http://127.0.0.1:${adminPort}/readyz`,
    tryLines: [
      `curl --cacert ${cert} ${https}/             the legacy app over https, through the sidecar`,
      `curl --cacert ${cert} --http2 -i ${https}/stats    HTTP/2, HSTS, X-Forwarded-* reach the app`,
      `curl -i http://127.0.0.1:${tlsPort}/             plain HTTP to the TLS port: 400, as nginx answers`,
      `openssl s_client -connect 127.0.0.1:${tlsPort} -tls1_1 </dev/null   TLS 1.1 is refused`,
      `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout ${key}.new -out ${cert}.new && mv ${key}.new ${key} && mv ${cert}.new ${cert}`,
      '    rotate the certificate: picked up without a restart (a key/cert mismatch in between is refused and logged)',
      `curl -s http://127.0.0.1:${adminPort}/metrics | grep ^podkit_tls_proxy   its metrics`,
    ],
  };
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
