/**
 * npm run bench -- startup: start -> ready time and idle RSS for every component in this build, beside
 * the floor any of them pays: node serving HTTP and nothing else, with each kind of component's flags.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { components, controlPlaneFlags, dataPlaneFlags } from '../components.js';
import { startMariaDb } from '../test/support/mariadb.js';
import { podkitArgs } from './lib/podkit-command.js';
import { type Footprint, formatFootprints, measureFootprint } from './lib/process-stats.js';

/** Arguments that let each component start and become ready on this machine. Add one per component. */
const startupArgs: Record<string, (dir: string) => Promise<string[]>> = {
  // Ready means the database answered: a private MariaDB, killed when the benchmark process exits.
  'db-health': async (dir) => {
    const db = await startMariaDb({ teardown() {} });
    const password = join(dir, 'db-health-password');
    writeFileSync(password, db.password);
    return ['--mysql-url', db.url, '--mysql-password-file', password];
  },
  // A one-commit repository made here; ready means its first revision is published.
  'git-pull': async (dir) => {
    const bare = join(dir, 'git-pull-site.git');
    const work = join(dir, 'git-pull-work');
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@podkit.invalid', ...args], {
        cwd,
        stdio: 'ignore',
      });
    git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
    git(dir, 'init', '--quiet', '--initial-branch=main', work);
    writeFileSync(join(work, 'index.html'), '<h1>bench</h1>\n');
    git(work, 'add', 'index.html');
    git(work, 'commit', '--quiet', '-m', 'first');
    git(work, 'push', '--quiet', bare, 'HEAD:main');
    return ['--repo', `file://${bare}`, '--root', join(dir, 'git-pull-root')];
  },
  'tls-proxy': async (dir) => {
    // Ready means the upstream accepts connections: a bare listener in this process stands in for the app.
    const upstream = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1');
    upstream.unref();
    await new Promise((resolve) => upstream.once('listening', resolve));
    const { port } = upstream.address() as { port: number };
    const { cert, key } = selfSignedCertificate(dir);
    return [
      '--listen',
      '127.0.0.1:0',
      '--upstream',
      `http://127.0.0.1:${port}`,
      '--cert-file',
      cert,
      '--key-file',
      key,
    ];
  },
  // Ready needs a healthy backend: a listener that sends a MySQL greeting stands in for the server.
  'mysql-broker': async () => [
    '--listen',
    '127.0.0.1:0',
    '--backends',
    `127.0.0.1:${await fakeGreetingServer()}`,
  ],
  // Ready once its glob has been looked at; one file to follow, as in a pod.
  'log-normalizer': async (dir) => {
    const logs = join(dir, 'log-normalizer-logs');
    mkdirSync(logs, { recursive: true });
    writeFileSync(join(logs, 'info.log'), '2024-05-01 10:00:00,000 INFO  [main] started\n');
    return ['--input', join(logs, '*.log')];
  },
  'config-sync': async (dir) => {
    const source = join(dir, 'config-sync-source');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'app.conf'), 'greeting = hello\n');
    return ['--source', 'dir', '--source-dir', source, '--target-dir', join(dir, 'config-sync-target')];
  },
};

function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** A TCP server that greets like MySQL 10.11 and closes: enough for the broker's health check. */
function fakeGreetingServer(): Promise<number> {
  const payload = Buffer.concat([
    Buffer.from([10]),
    Buffer.from('10.11.0-bench\0', 'latin1'),
    Buffer.alloc(40),
  ]);
  const packet = Buffer.concat([Buffer.from([payload.length, 0, 0, 0]), payload]);
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.end(packet);
    });
    server.unref();
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-startup-'));
  const rows: Footprint[] = [];

  for (const [flags, which] of [
    [dataPlaneFlags, 'data-plane'],
    [controlPlaneFlags, 'control-plane'],
  ] as const) {
    const port = await freePort();
    const floor = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
    rows.push(
      await measureFootprint(
        `node:http answering 200 (the floor, ${which} flags)`,
        process.execPath,
        [...flags, '-e', floor],
        () => `http://127.0.0.1:${port}/`,
      ),
    );
  }

  for (const name of Object.keys(components).sort()) {
    const args = startupArgs[name];
    if (!args)
      throw new Error(`bench/startup.ts has no start-up arguments for ${name}: add them to startupArgs`);
    const adminPort = await freePort();
    rows.push(
      await measureFootprint(
        name,
        process.execPath,
        [...podkitArgs(name), '--admin-address', `127.0.0.1:${adminPort}`, ...(await args(dir))],
        () => `http://127.0.0.1:${adminPort}/readyz`,
      ),
    );
  }
  return `## start -> ready and idle RSS\n\n${formatFootprints(rows)}`;
}
