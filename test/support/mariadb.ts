/**
 * A private MariaDB for a test: `mariadbd` on a copy of a bootstrapped datadir and a free loopback port,
 * with a root password of its own, owned by the test (stop, kill, freeze, restart on the same data).
 * Without the
 * Debian `mariadb-server` binaries, PODKIT_TEST_MYSQL_URL names an existing server instead; such a
 * server cannot be stopped or frozen by a test, and tests that need that say so when they fail.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql, { type Connection, type ConnectionOptions } from 'mysql2/promise';
import { copyDatadir, templateDatadir } from './mariadb-datadir.js';
import { freePort } from './ports.js';
import { statFields } from './proc-stat.js';
import type { Teardown } from './process.js';
import { waitFor } from './wait.js';

export interface MariaDbOptions {
  /** Extra mariadbd flags, e.g. ['--log-bin', '--server-id=1'] for a replication source. */
  args?: string[];
  password?: string;
  /** The port to try first (tests of the retry on a taken port); a free one when absent. */
  port?: number;
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
  // A password of its own: a test that reached another test's server by port would be refused.
  const password = options.password ?? `podkit-test-${randomBytes(9).toString('base64url')}`;
  const db = new PrivateMariaDb(server, install, password, options.args ?? [], options.port);
  t.teardown(() => db.destroy());
  await db.init();
  await db.start();
  return db;
}

/**
 * One server for every test of a file that neither stops nor freezes it, started on first use and
 * stopped with `t` (the file's root test): `const db = sharedMariaDb(t)` then `await db()` in each test.
 */
export function sharedMariaDb(t: Teardown, options: MariaDbOptions = {}): () => Promise<MariaDb> {
  let started: Promise<MariaDb> | undefined;
  return () => {
    started ??= startMariaDb(t, options);
    return started;
  };
}

/**
 * Servers that stand in for one another (backends behind one broker): one root password for the group,
 * so a client of one logs in to whichever the broker picks; still a password no other test has.
 */
export async function startMariaDbs(
  t: Teardown,
  count: number,
  options: MariaDbOptions = {},
): Promise<MariaDb[]> {
  const password = options.password ?? `podkit-test-${randomBytes(9).toString('base64url')}`;
  return Promise.all(Array.from({ length: count }, () => startMariaDb(t, { ...options, password })));
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
  /** Set once a start succeeded: a restart must come back on the same port. */
  #started = false;

  constructor(
    private readonly server: string,
    private readonly install: string,
    readonly password: string,
    private readonly args: string[],
    private readonly firstPort?: number,
  ) {}

  get url(): string {
    return `mysql://${this.user}@${this.host}:${this.port}/`;
  }

  get datadir(): string {
    return join(this.#dir, 'data');
  }

  async init(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'podkit-mariadb-'));
    this.port = this.firstPort ?? (await freePort());
    await copyDatadir(await templateDatadir(this.server, this.install, this.sizing()), this.datadir);
    await mkdir(join(this.#dir, 'tmp'));
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

  get pidFile(): string {
    return join(this.#dir, 'mysqld.pid');
  }

  /**
   * Starts mariadbd on this server's port and data. The first start moves to another free port when
   * its port was taken between `freePort` and the bind; a restart keeps its port, as tests expect.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#startOnce();
      if (outcome === 'ready') {
        this.#started = true;
        return;
      }
      if (this.#started || attempt >= 5)
        throw new Error(`mariadbd could not bind port ${this.port}; see ${join(this.#dir, 'error.log')}`);
      this.port = await freePort();
    }
  }

  async #startOnce(): Promise<'ready' | 'port-taken'> {
    const errorLog = join(this.#dir, 'error.log');
    const logStart = await stat(errorLog).then(
      (s) => s.size,
      () => 0,
    );
    const proc = spawn(
      this.server,
      [
        '--no-defaults',
        `--datadir=${this.datadir}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(this.#dir, 'mysqld.sock')}`,
        `--pid-file=${this.pidFile}`,
        `--log-error=${errorLog}`,
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
    let portTaken = false;
    await waitFor(
      async () => {
        if (exited) {
          const said = (await readFile(errorLog, 'utf8').catch(() => '')).slice(logStart);
          if (/Address already in use|Bind on TCP\/IP port/.test(said)) {
            portTaken = true;
            return true;
          }
          throw new Error(`mariadbd exited at start; see ${errorLog}`);
        }
        return this.#answersAsOurs();
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `mariadbd on port ${this.port}` },
    );
    return portTaken ? 'port-taken' : 'ready';
  }

  /**
   * Whether the server on our port is the one this object started: a login alone could reach another
   * test's server that took the port, so its pid file must be ours.
   */
  async #answersAsOurs(): Promise<boolean> {
    try {
      const conn = await this.connect({ connectTimeout: 1000 });
      try {
        const [rows] = await conn.query('SELECT @@pid_file AS pidFile');
        return (rows as { pidFile: string }[])[0]?.pidFile === this.pidFile;
      } finally {
        await conn.end();
      }
    } catch {
      return false;
    }
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
