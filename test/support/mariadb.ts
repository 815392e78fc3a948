/**
 * A private MariaDB for a test: `mariadbd` on a fresh temporary datadir and a free loopback port,
 * owned by the test (stop, kill, freeze, restart on the same data). About 2 s to start. Without the
 * Debian `mariadb-server` binaries, PODKIT_TEST_MYSQL_URL names an existing server instead; such a
 * server cannot be stopped or frozen by a test, and tests that need that say so when they fail.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql, { type Connection, type ConnectionOptions } from 'mysql2/promise';
import { freePort } from './ports.js';
import { statFields } from './proc-stat.js';
import type { Teardown } from './process.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface MariaDbOptions {
  /** Extra mariadbd flags, e.g. ['--log-bin', '--server-id=1'] for a replication source. */
  args?: string[];
  password?: string;
}

export interface MariaDb {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** `mysql://root@127.0.0.1:port/` without the password. */
  readonly url: string;
  /** True when this test owns the server process (stop/kill/freeze/start work). */
  readonly controllable: boolean;
  connect(options?: Partial<ConnectionOptions>): Promise<Connection>;
  /** One query on a short-lived connection. */
  query<T = unknown>(sql: string, values?: unknown[]): Promise<T>;
  /** A database of the test's own, dropped on teardown. */
  createDatabase(prefix?: string): Promise<string>;
  /** Graceful shutdown; `start()` brings it back on the same port and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /**
   * SIGSTOP / SIGCONT: alive but unresponsive. `freeze` resolves once every thread has stopped: the
   * kernel wakes one thread to take a group stop, and on a busy machine the others go on serving
   * (answering queries) until it runs.
   */
  freeze(): Promise<void>;
  thaw(): void;
}

function binary(name: string): string | undefined {
  return ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']
    .map((dir) => join(dir, name))
    .find((path) => existsSync(path));
}

export function mariaDbAvailable(): boolean {
  return (
    Boolean(binary('mariadbd') && binary('mariadb-install-db')) || Boolean(process.env.PODKIT_TEST_MYSQL_URL)
  );
}

export async function startMariaDb(t: Teardown, options: MariaDbOptions = {}): Promise<MariaDb> {
  const server = binary('mariadbd');
  const install = binary('mariadb-install-db');
  if (!server || !install) {
    const url = process.env.PODKIT_TEST_MYSQL_URL;
    if (!url)
      throw new Error(
        'MariaDB is not installed (Debian package mariadb-server) and PODKIT_TEST_MYSQL_URL is not set',
      );
    return externalServer(t, new URL(url));
  }
  const db = new PrivateMariaDb(server, install, options.password ?? 'podkit-test-root', options.args ?? []);
  t.teardown(() => db.destroy());
  await db.init();
  await db.start();
  return db;
}

/**
 * Servers still running when this process exits are killed with it: a test or benchmark that crashes
 * (or exits without running its teardowns) must not leave mariadbd processes behind on a shared machine.
 */
const running = new Map<ChildProcess, string>();
process.once('exit', () => {
  for (const [proc, dir] of running) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

class PrivateMariaDb implements MariaDb {
  readonly host = '127.0.0.1';
  readonly user = 'root';
  readonly controllable = true;
  port = 0;
  #dir = '';
  #proc: ChildProcess | undefined;
  #exited: Promise<void> | undefined;

  constructor(
    private readonly server: string,
    private readonly install: string,
    readonly password: string,
    private readonly args: string[],
  ) {}

  get url(): string {
    return `mysql://${this.user}@${this.host}:${this.port}/`;
  }

  get datadir(): string {
    return join(this.#dir, 'data');
  }

  async init(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'podkit-mariadb-'));
    this.port = await freePort();
    await mkdir(this.datadir);
    // A private tmpdir: concurrent bootstraps sharing /tmp collide on temporary table names.
    await mkdir(join(this.#dir, 'tmp'));
    await run(this.install, [
      '--no-defaults',
      `--datadir=${this.datadir}`,
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      `--tmpdir=${join(this.#dir, 'tmp')}`,
      ...this.sizing(),
    ]);
    // Runs at every start: TCP logins from 127.0.0.1 (name resolution is off) get the test password.
    const quoted = this.password.replace(/'/g, "''");
    await writeFile(
      join(this.#dir, 'init.sql'),
      ['127.0.0.1', '::1']
        .map(
          (host) =>
            `CREATE OR REPLACE USER 'root'@'${host}' IDENTIFIED BY '${quoted}';\nGRANT ALL ON *.* TO 'root'@'${host}' WITH GRANT OPTION;\n`,
        )
        .join(''),
    );
  }

  /** Small enough that several instances fit beside each other on a test machine. */
  private sizing(): string[] {
    return ['--innodb-log-file-size=4M', '--innodb-buffer-pool-size=16M'];
  }

  async start(): Promise<void> {
    const proc = spawn(
      this.server,
      [
        '--no-defaults',
        `--datadir=${this.datadir}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(this.#dir, 'mysqld.sock')}`,
        `--pid-file=${join(this.#dir, 'mysqld.pid')}`,
        `--log-error=${join(this.#dir, 'error.log')}`,
        `--init-file=${join(this.#dir, 'init.sql')}`,
        ...(process.getuid?.() === 0 ? ['--user=root'] : []),
        '--skip-name-resolve',
        `--tmpdir=${join(this.#dir, 'tmp')}`,
        '--innodb-flush-log-at-trx-commit=2',
        '--performance-schema=OFF',
        ...this.sizing(),
        ...this.args,
      ],
      { stdio: 'ignore' },
    );
    this.#proc = proc;
    running.set(proc, this.#dir);
    this.#exited = new Promise((resolve) =>
      proc.once('exit', () => {
        running.delete(proc);
        resolve();
      }),
    );
    let exited = false;
    void this.#exited.then(() => {
      exited = true;
    });
    await waitFor(
      async () => {
        if (exited) throw new Error(`mariadbd exited at start; see ${join(this.#dir, 'error.log')}`);
        try {
          const conn = await this.connect({ connectTimeout: 1000 });
          await conn.end();
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `mariadbd on port ${this.port}` },
    );
  }

  connect(options: Partial<ConnectionOptions> = {}): Promise<Connection> {
    return mysql.createConnection({
      host: this.host,
      port: this.port,
      user: this.user,
      password: this.password,
      ...options,
    });
  }

  async query<T = unknown>(sql: string, values?: unknown[]): Promise<T> {
    const conn = await this.connect();
    try {
      const [rows] = await conn.query(sql, values);
      return rows as T;
    } finally {
      await conn.end();
    }
  }

  async createDatabase(prefix = 'podkit_test'): Promise<string> {
    const name = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
    await this.query(`CREATE DATABASE \`${name}\``);
    return name;
  }

  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    this.thaw();
    proc.kill('SIGTERM');
    await this.#exited;
  }

  async kill(): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    await this.#exited;
  }

  async freeze(): Promise<void> {
    const pid = this.#proc?.pid;
    if (pid === undefined || !this.#proc?.kill('SIGSTOP')) return;
    // `t` is the stop under a tracer (a debugger attached to the test's server).
    await waitFor(async () => (await threadStates(pid)).every((state) => state === 'T' || state === 't'), {
      intervalMs: 5,
      what: `every thread of mariadbd ${pid} stopped`,
    });
  }

  thaw(): void {
    this.#proc?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    await this.kill();
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }
}

/**
 * The state letter of each thread of `pid` (`R`, `S`, `D`, `T` stopped, `Z` exited, ...) from /proc;
 * none once the process is gone.
 */
export async function threadStates(pid: number): Promise<string[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  const states = await Promise.all(
    tasks.map(async (tid) => {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
      return stat ? statFields(stat)[0] : '';
    }),
  );
  return states.filter(Boolean);
}

async function externalServer(t: Teardown, url: URL): Promise<MariaDb> {
  const base = {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username || 'root'),
    password: decodeURIComponent(url.password),
  };
  const created: string[] = [];
  const connect = (options: Partial<ConnectionOptions> = {}) =>
    mysql.createConnection({ ...base, ...options });
  const query = async <T>(sql: string, values?: unknown[]): Promise<T> => {
    const conn = await connect();
    try {
      return (await conn.query(sql, values))[0] as T;
    } finally {
      await conn.end();
    }
  };
  t.teardown(async () => {
    for (const name of created) await query(`DROP DATABASE IF EXISTS \`${name}\``);
  });
  const uncontrollable = () => {
    throw new Error(
      'this test needs a private mariadbd (Debian package mariadb-server); PODKIT_TEST_MYSQL_URL cannot be stopped',
    );
  };
  return {
    ...base,
    url: `mysql://${base.user}@${base.host}:${base.port}/`,
    controllable: false,
    connect,
    query,
    async createDatabase(prefix = 'podkit_test') {
      const name = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
      await query(`CREATE DATABASE \`${name}\``);
      created.push(name);
      return name;
    },
    stop: async () => uncontrollable(),
    start: async () => uncontrollable(),
    kill: async () => uncontrollable(),
    freeze: async () => uncontrollable(),
    thaw: uncontrollable,
  };
}
