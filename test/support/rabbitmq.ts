/**
 * A private RabbitMQ for a test: Debian's `rabbitmq-server` with a node name, cookie, data and logs of its
 * own in a temporary directory, AMQP on a free loopback port, no plugins, a user and password no other test
 * has, and its own epmd (so nothing outlives the test). Erlang starts slowly: share one per test file with
 * `sharedRabbitMq(t)`.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { freePort } from './ports.js';
import { alive, type Teardown } from './process.js';
import { waitFor } from './wait.js';

export interface RabbitMq {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** `amqp://user:password@127.0.0.1:port/`. */
  readonly url: string;
  /** The Erlang node name, unique to this broker. */
  readonly nodeName: string;
  /** Graceful stop; `start()` brings it back on the same port and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGKILL to the broker: a crash. */
  kill(): Promise<void>;
  /** The Erlang VM's pid (from its pid file) and its epmd's, for tests that check nothing outlives them. */
  pids(): Promise<number[]>;
}

const sbinDir = '/usr/lib/rabbitmq/bin';

export function rabbitMqAvailable(): boolean {
  return existsSync(join(sbinDir, 'rabbitmq-server')) && Boolean(epmdBinary());
}

function epmdBinary(): string | undefined {
  return ['/usr/bin/epmd', '/usr/lib/erlang/bin/epmd', '/usr/local/bin/epmd'].find((path) =>
    existsSync(path),
  );
}

/**
 * Process groups still running when this process exits are killed with it: a crashed test must not leave
 * Erlang VMs behind on a shared machine.
 */
const running = new Map<ChildProcess, string>();
process.once('exit', () => {
  for (const [proc, dir] of running) {
    killGroup(proc, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the shell script and the Erlang VM it started are one process group.
    if (proc.pid) process.kill(-proc.pid, signal);
  } catch {
    // already gone
  }
}

/** `listen`: more addresses than 127.0.0.1 to take AMQP on, same port (a pod network's gateway). */
export interface RabbitMqOptions {
  listen?: string[];
}

export async function startRabbitMq(t: Teardown, options: RabbitMqOptions = {}): Promise<RabbitMq> {
  const broker = await createRabbitMq(t, options);
  await broker.start();
  return broker;
}

/**
 * A broker whose port, user and password are fixed but which is not running until `start()`: for a client
 * that must start before its broker exists.
 */
export async function createRabbitMq(t: Teardown, options: RabbitMqOptions = {}): Promise<RabbitMq> {
  const epmd = epmdBinary();
  if (!existsSync(join(sbinDir, 'rabbitmq-server')) || !epmd)
    throw new Error(
      'rabbitmq-server is not installed (Debian package rabbitmq-server; scripts/ensure-system.sh test)',
    );
  const broker = new PrivateRabbitMq(epmd, options.listen ?? []);
  t.teardown(() => broker.destroy());
  await broker.init();
  return broker;
}

/**
 * One broker for every test of a file, started on first use and stopped with `t` (the file's root test):
 * `const rabbit = sharedRabbitMq(t)` then `await rabbit()` in each test. Tests sharing it use queue and
 * exchange names of their own.
 */
export function sharedRabbitMq(t: Teardown): () => Promise<RabbitMq> {
  let started: Promise<RabbitMq> | undefined;
  return () => {
    started ??= startRabbitMq(t);
    return started;
  };
}

class PrivateRabbitMq implements RabbitMq {
  readonly host = '127.0.0.1';
  readonly user = 'podkit';
  readonly password = `podkit-test-${randomBytes(9).toString('base64url')}`;
  readonly nodeName = `podkit-${randomBytes(6).toString('hex')}@localhost`;
  port = 0;
  #distPort = 0;
  #epmdPort = 0;
  #dir = '';
  #epmd: ChildProcess | undefined;
  #proc: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly epmd: string,
    private readonly listen: readonly string[],
  ) {}

  get url(): string {
    return `amqp://${this.user}:${encodeURIComponent(this.password)}@${this.host}:${this.port}/`;
  }

  get #logFile(): string {
    return join(this.#dir, 'log', `${this.nodeName}.log`);
  }

  async init(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'podkit-rabbitmq-'));
    [this.port, this.#distPort, this.#epmdPort] = await Promise.all([freePort(), freePort(), freePort()]);
    await Promise.all(['mnesia', 'log', 'home'].map((sub) => mkdir(join(this.#dir, sub))));
    await writeFile(join(this.#dir, 'home', '.erlang.cookie'), randomBytes(20).toString('hex'), {
      mode: 0o400,
    });
    await writeFile(join(this.#dir, 'enabled_plugins'), '[].\n');
    await writeFile(join(this.#dir, 'rabbitmq-env.conf'), '');
    await writeFile(
      join(this.#dir, 'rabbitmq.conf'),
      [
        `listeners.tcp.1 = 127.0.0.1:${this.port}`,
        ...this.listen.map((address, i) => `listeners.tcp.${i + 2} = ${address}:${this.port}`),
        `default_user = ${this.user}`,
        `default_pass = ${this.password}`,
        // A busy shared test machine must not trip the alarms that block publishers.
        'disk_free_limit.absolute = 1MB',
        'vm_memory_high_watermark.relative = 0.9',
        'log.console = false',
        'log.file.level = info',
        '',
      ].join('\n'),
    );
  }

  #env(): NodeJS.ProcessEnv {
    const { NODE_OPTIONS: _drop, ...rest } = process.env;
    return {
      ...rest,
      HOME: join(this.#dir, 'home'),
      ERL_EPMD_PORT: String(this.#epmdPort),
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_DIST_PORT: String(this.#distPort),
      RABBITMQ_CONF_ENV_FILE: join(this.#dir, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(this.#dir, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(this.#dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.#dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(this.#dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.#dir, 'log'),
      RABBITMQ_PID_FILE: join(this.#dir, 'rabbitmq.pid'),
      // Our own epmd runs (and stops) with the broker: the VM must not start a daemon that outlives it.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-start_epmd false',
    };
  }

  async start(): Promise<void> {
    if (!this.#epmd || this.#epmd.exitCode !== null || this.#epmd.signalCode !== null)
      await this.#startEpmd();
    const proc = spawn(join(sbinDir, 'rabbitmq-server'), [], {
      env: this.#env(),
      stdio: 'ignore',
      detached: true,
    });
    this.#proc = proc;
    running.set(proc, this.#dir);
    let exited = false;
    this.#exited = new Promise((resolve) =>
      proc.once('exit', () => {
        exited = true;
        running.delete(proc);
        resolve();
      }),
    );
    await waitFor(
      async () => {
        if (exited) throw new Error(`rabbitmq-server exited at start:\n${await this.#logTail()}`);
        return this.#acceptsOurLogin();
      },
      { timeoutMs: 120_000, intervalMs: 250, what: `rabbitmq-server ${this.nodeName} on port ${this.port}` },
    );
  }

  async #startEpmd(): Promise<void> {
    const epmd = spawn(this.epmd, ['-port', String(this.#epmdPort), '-address', '127.0.0.1'], {
      env: this.#env(),
      stdio: 'ignore',
      detached: true,
    });
    this.#epmd = epmd;
    running.set(epmd, this.#dir);
    epmd.once('exit', () => running.delete(epmd));
    // Ready when it answers `epmd -names` on its port.
    await waitFor(
      async () => {
        if (epmd.exitCode !== null) throw new Error(`epmd on port ${this.#epmdPort} exited at start`);
        return (await this.#epmdAnswers()) === 0;
      },
      { timeoutMs: 15_000, what: `epmd on port ${this.#epmdPort}` },
    );
  }

  #epmdAnswers(): Promise<number | null> {
    return new Promise((resolve) => {
      const probe = spawn(this.epmd, ['-port', String(this.#epmdPort), '-names'], { stdio: 'ignore' });
      probe.once('exit', (code) => resolve(code));
      probe.once('error', () => resolve(null));
    });
  }

  /** Logging in with this broker's own password proves the port is ours and the broker serves AMQP. */
  async #acceptsOurLogin(): Promise<boolean> {
    try {
      const connection = await amqp.connect(this.url, { timeout: 2000 });
      await connection.close();
      return true;
    } catch {
      return false;
    }
  }

  async #logTail(): Promise<string> {
    const text = await readFile(this.#logFile, 'utf8').catch(() => `(no log at ${this.#logFile})`);
    return text.split('\n').slice(-30).join('\n');
  }

  async pids(): Promise<number[]> {
    const vm = await this.#vmPid();
    return [...(vm ? [vm] : []), ...(this.#epmd?.pid ? [this.#epmd.pid] : [])];
  }

  async #vmPid(): Promise<number | undefined> {
    const text = await readFile(join(this.#dir, 'rabbitmq.pid'), 'utf8').catch(() => '');
    return Number(text.trim()) || undefined;
  }

  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    // The script's TERM trap stops the VM gracefully and waits for it.
    proc.kill('SIGTERM');
    await this.#exited;
  }

  async kill(): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const vm = await this.#vmPid();
    killGroup(proc, 'SIGKILL');
    await this.#exited;
    // The VM was the script's child: once the script is gone, init reaps it, a moment later.
    if (vm) await waitFor(() => !alive(vm), { timeoutMs: 15_000, what: `Erlang VM ${vm} gone` });
  }

  async destroy(): Promise<void> {
    await this.kill();
    const epmd = this.#epmd;
    if (epmd && epmd.exitCode === null && epmd.signalCode === null) {
      const exited = new Promise((resolve) => epmd.once('exit', resolve));
      killGroup(epmd, 'SIGKILL');
      await exited;
    }
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }
}
