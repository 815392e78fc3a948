/**
 * What components need to start and become ready on a development machine (`startupArgs` in
 * components.ts): a certificate, an upstream, a MySQL greeting, a private MariaDB, a git repository.
 * Each is made on first use and shared by every component that asks for it.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { StartupFixtures } from '../../components.js';
import { startMariaDb } from '../../test/support/mariadb.js';

export interface FixtureOptions {
  /** Where the fixtures' files go; each component gets a directory of its own below it. */
  root: string;
  /** Runs `fn` when the caller is done (a test's teardown); servers made here never hold the process open. */
  teardown(fn: () => unknown): void;
}

/** A factory of each component's fixtures, sharing what is expensive to make among them. */
export function startupFixtures({ root, teardown }: FixtureOptions): (component: string) => StartupFixtures {
  const once = <T>(make: () => Promise<T>) => {
    let made: Promise<T> | undefined;
    return () => {
      made ??= make();
      return made;
    };
  };
  const shared = {
    certificate: once(async () => selfSignedCertificate(root)),
    httpUpstream: once(async () => {
      const server = createHttpServer((_request, response) => response.end('ok\n'));
      return `http://127.0.0.1:${await listen(server, teardown)}`;
    }),
    mysqlGreeting: once(async () => `127.0.0.1:${await listen(greetingServer(), teardown)}`),
    mariaDb: once(async () => {
      const db = await startMariaDb({ teardown });
      const passwordFile = join(root, 'mariadb-password');
      writeFileSync(passwordFile, db.password, { mode: 0o600 });
      return { url: db.url, passwordFile };
    }),
    gitRepository: once(async () => gitRepository(root)),
  };
  return (component) => {
    const dir = join(root, component);
    mkdirSync(dir, { recursive: true });
    return {
      ...shared,
      dir,
      async directory(name, files) {
        const made = join(dir, name);
        mkdirSync(made, { recursive: true });
        for (const [file, text] of Object.entries(files)) writeFileSync(join(made, file), text);
        return made;
      },
    };
  };
}

function listen(server: Server | ReturnType<typeof createHttpServer>, teardown: FixtureOptions['teardown']) {
  server.unref();
  teardown(() => {
    server.close();
  });
  return new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      ...['-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** A TCP server that greets like MySQL 10.11 and closes: enough for the broker's health check. */
function greetingServer(): Server {
  const payload = Buffer.concat([
    Buffer.from([10]),
    Buffer.from('10.11.0-bench\0', 'latin1'),
    Buffer.alloc(40),
  ]);
  const packet = Buffer.concat([Buffer.from([payload.length, 0, 0, 0]), payload]);
  return createServer((socket) => {
    socket.on('error', () => {});
    socket.end(packet);
  });
}

/** A bare repository with one commit on main, made through a work tree. */
function gitRepository(root: string): string {
  const bare = join(root, 'site.git');
  const work = join(root, 'site-work');
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@podkit.invalid', ...args], {
      cwd,
      stdio: 'ignore',
    });
  git(root, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  git(root, 'init', '--quiet', '--initial-branch=main', work);
  writeFileSync(join(work, 'index.html'), '<h1>bench</h1>\n');
  git(work, 'add', 'index.html');
  git(work, 'commit', '--quiet', '-m', 'first');
  git(work, 'push', '--quiet', bare, 'HEAD:main');
  return `file://${bare}`;
}
