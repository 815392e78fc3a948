/**
 * The components this build of podkit contains, each declared once: what `podkit --help`, the README's
 * components table, the bundle's entry points, the images' entrypoints, the demo and the start-up
 * benchmark know about a component all come from its entry here (or are checked against it by
 * test/docs.test.ts, test/bundle.test.ts and test/e2e/demo.test.ts). Each entry loads its module only
 * when it is run, so `podkit <component>` starts without importing every other component's dependencies.
 */

import { join } from 'node:path';
import { type Component, type ComponentDefinition, commonOptions } from './lib/component.js';
import type { LogTarget } from './lib/log.js';
import { knownEnvNames, type Spec } from './lib/options.js';

export interface ComponentEntry {
  /** One line: `podkit --help`, the component's own `--help` title, and the README's components table. */
  readonly summary: string;
  /** What people use for this today (the README's components table; Markdown). */
  readonly replaces: string;
  /** Where its source and README live: `<sidecars|ambassadors|adapters>/<name>`. */
  readonly dir: string;
  /** The default port of its admin server, distinct per component so all fit in one pod. */
  readonly adminPort: number;
  /** Where its own logs go when stdout carries its output (log-normalizer's records); default stdout. */
  readonly logTo?: LogTarget;
  /** Node flags its image runs it with (the ENTRYPOINT of its Dockerfile; a test keeps the two equal). */
  readonly nodeFlags: readonly string[];
  /**
   * Scripts it starts in other processes (`distPath(...)` in its source), relative to dist/: each is an
   * entry point of the bundle (scripts/bundle.ts).
   */
  readonly workerScripts: readonly string[];
  /**
   * Arguments that let it start and become ready on a development machine, from what `fixtures` makes
   * (`npm run bench -- startup`, and the test that checks each README's metrics table).
   */
  startupArgs(fixtures: StartupFixtures): Promise<string[]>;
  load(): Promise<ComponentDefinition>;
  /**
   * Its own option spec alone (its `options.ts`, which imports only lib/options): what another
   * component loads to know this one's variables, without loading this one.
   */
  options(): Promise<Spec>;
}

/** What a component's start-up arguments may ask for; made by bench/lib/startup-fixtures.ts. */
export interface StartupFixtures {
  /** A directory of the component's own, empty at first. */
  readonly dir: string;
  /** A new directory under `dir` holding these files (name -> text). */
  directory(name: string, files: Readonly<Record<string, string>>): Promise<string>;
  /** PEM files of a self-signed certificate for localhost and 127.0.0.1. */
  certificate(): Promise<{ cert: string; key: string }>;
  /** `http://127.0.0.1:<port>` of a server that answers every request with 200. */
  httpUpstream(): Promise<string>;
  /** `127.0.0.1:<port>` of a listener that sends a MySQL greeting and closes. */
  mysqlGreeting(): Promise<string>;
  /** A private MariaDB: its `mysql://` URL (root, no password in it) and a file holding the password. */
  mariaDb(): Promise<{ url: string; passwordFile: string }>;
  /** `file://` URL of a bare repository with one commit on `main`. */
  gitRepository(): Promise<string>;
}

/**
 * For components that mostly wait (on git, files, an API or a probe): V8's optimizing and baseline
 * compilers and a large young generation cost them resident memory and buy nothing a user notices, and
 * V8 is told to favour size over speed. What each flag saves: docs/performance.md.
 * V8 has two optimizing tiers since Node 22 (Maglev, then TurboFan): both are turned off.
 */
export const controlPlaneFlags = [
  '--max-semi-space-size=1',
  '--no-turbofan',
  '--no-maglev',
  '--no-sparkplug',
  '--optimize-for-size',
] as const;

/** A control plane that works in bursts and collects their garbage itself (lib/burst-garbage.ts). */
export const burstyControlPlaneFlags = [...controlPlaneFlags, '--expose-gc'] as const;

/**
 * For the data planes: twice V8's invocation counts before a function is optimized, so start-up alone
 * does not wake Maglev or TurboFan (whose code pages would stay resident), while the hot path under load
 * still gets them at once. (V8 counts invocations since Node 22; Node 20 took `--interrupt-budget`.)
 */
export const dataPlaneFlags = [
  '--invocation-count-for-maglev=800',
  '--invocation-count-for-turbofan=6000',
] as const;

export const components: Readonly<Record<string, ComponentEntry>> = {
  'config-sync': {
    summary:
      'ConfigMaps, a directory or a URL into a shared directory: validated, the app told, rolled back when it turns unhealthy',
    replaces: 'kiwigrid/k8s-sidecar, configmap-reload, Reloader',
    dir: 'sidecars/config-sync',
    adminPort: 9402,
    nodeFlags: controlPlaneFlags,
    workerScripts: [],
    startupArgs: async ({ dir, directory }) => [
      ...['--source', 'dir', '--source-dir', await directory('source', { 'app.conf': 'greeting = hello\n' })],
      ...['--target-dir', join(dir, 'target')],
    ],
    load: async () => (await import('./sidecars/config-sync/src/component.js')).configSync,
    options: async () => (await import('./sidecars/config-sync/src/options.js')).options,
  },
  'db-health': {
    summary: 'liveness, readiness and startup probes for a database, from real queries',
    replaces: 'kubelet process/port checks, mysqld_exporter, sql_exporter',
    dir: 'adapters/db-health',
    adminPort: 9408,
    nodeFlags: controlPlaneFlags,
    workerScripts: [],
    // Ready means the database answered.
    startupArgs: async ({ mariaDb }) => {
      const db = await mariaDb();
      return ['--mysql-url', db.url, '--mysql-password-file', db.passwordFile];
    },
    load: async () => (await import('./adapters/db-health/src/component.js')).dbHealth,
    options: async () => (await import('./adapters/db-health/src/options.js')).dbHealthOptions,
  },
  'git-pull': {
    summary:
      'a git repository into a shared volume: a worktree per commit, atomic publish, the app told, POST /sync',
    replaces: 'kubernetes/git-sync, `git pull; sleep 10`',
    dir: 'sidecars/git-pull',
    adminPort: 9403,
    nodeFlags: burstyControlPlaneFlags,
    workerScripts: [],
    // Ready means the repository's first revision is published.
    startupArgs: async ({ dir, gitRepository }) => [
      '--repo',
      await gitRepository(),
      '--root',
      join(dir, 'root'),
    ],
    load: async () => (await import('./sidecars/git-pull/src/component.js')).gitPull,
    options: async () => (await import('./sidecars/git-pull/src/options.js')).gitPullOptions,
  },
  'log-normalizer': {
    summary:
      "any app's logs (files with rotation, stdin; JSON, syslog, glog, log4j, access logs) as one JSON stream",
    replaces: 'Fluent Bit tail + parsers, Vector file source, `tail -F`',
    dir: 'adapters/log-normalizer',
    adminPort: 9406,
    logTo: 'stderr',
    nodeFlags: dataPlaneFlags,
    workerScripts: [],
    // Ready once its glob has been looked at; one file to follow, as in a pod.
    startupArgs: async ({ directory }) => {
      const logs = await directory('logs', { 'info.log': '2024-05-01 10:00:00,000 INFO  [main] started\n' });
      return ['--input', join(logs, '*.log')];
    },
    load: async () => (await import('./adapters/log-normalizer/src/component.js')).logNormalizer,
    options: async () => (await import('./adapters/log-normalizer/src/options.js')).logNormalizerOptions,
  },
  'metrics-exporter': {
    summary: "the app's own stats (JSON, StatsD, Redis, MySQL) as Prometheus metrics",
    replaces: 'json_exporter, statsd_exporter, redis_exporter, mysqld_exporter',
    dir: 'adapters/metrics-exporter',
    adminPort: 9407,
    nodeFlags: dataPlaneFlags,
    workerScripts: [],
    // Ready once the admin server listens: a StatsD listener waits for packets, nothing else to wait for.
    startupArgs: async () => ['--statsd-listen', '127.0.0.1:0'],
    load: async () => (await import('./adapters/metrics-exporter/src/component.js')).metricsExporter,
    options: async () => (await import('./adapters/metrics-exporter/src/options.js')).metricsExporterOptions,
  },
  'mysql-broker': {
    summary:
      'the app talks to localhost:3306; the broker finds MySQL (static, DNS, Kubernetes) or creates it, with failover',
    replaces: 'cloud-sql-proxy, MySQL Router',
    dir: 'ambassadors/mysql-broker',
    adminPort: 9404,
    nodeFlags: dataPlaneFlags,
    workerScripts: ['ambassadors/mysql-broker/src/worker.js'],
    // Ready needs a backend that greets.
    startupArgs: async ({ mysqlGreeting }) => [
      '--listen',
      '127.0.0.1:0',
      '--backends',
      await mysqlGreeting(),
    ],
    load: async () => (await import('./ambassadors/mysql-broker/src/component.js')).mysqlBroker,
    options: async () => (await import('./ambassadors/mysql-broker/src/options.js')).mysqlBrokerOptions,
  },
  'tls-proxy': {
    summary:
      'HTTPS and mTLS in front of a localhost-only app: HTTP/1.1 + HTTP/2 or l4, certificate hot reload, rate limits',
    replaces: 'ghostunnel, nginx/Envoy TLS termination',
    dir: 'sidecars/tls-proxy',
    adminPort: 9401,
    nodeFlags: dataPlaneFlags,
    workerScripts: ['sidecars/tls-proxy/src/worker.js'],
    // Ready means the upstream accepts connections.
    startupArgs: async ({ certificate, httpUpstream }) => {
      const { cert, key } = await certificate();
      return [
        '--listen',
        '127.0.0.1:0',
        '--upstream',
        await httpUpstream(),
        '--cert-file',
        cert,
        '--key-file',
        key,
      ];
    },
    load: async () => (await import('./sidecars/tls-proxy/src/component.js')).tlsProxy,
    options: async () => (await import('./sidecars/tls-proxy/src/options.js')).tlsProxyOptions,
  },
  'traffic-split': {
    summary:
      'canary splits sticky per user, shadow traffic to a mirror, answers compared, an experiment page at `/ui`',
    replaces: 'nginx `split_clients` + `mirror`, Envoy weighted clusters + request mirroring, Flagger',
    dir: 'ambassadors/traffic-split',
    adminPort: 9405,
    nodeFlags: dataPlaneFlags,
    workerScripts: [],
    // Ready means the primary accepts connections.
    startupArgs: async ({ httpUpstream }) => ['--listen', '127.0.0.1:0', '--primary', await httpUpstream()],
    load: async () => (await import('./ambassadors/traffic-split/src/component.js')).trafficSplit,
    options: async () => (await import('./ambassadors/traffic-split/src/options.js')).trafficSplitOptions,
  },
};

/** The registered component `name`, as the lifecycle runs it: its definition with its entry's identity. */
export async function loadComponent(name: string): Promise<Component> {
  const entry = components[name];
  if (!entry) throw new Error(`no component ${name}`);
  const { summary, adminPort, logTo } = entry;
  return { ...(await entry.load()), name, summary, adminPort, ...(logTo ? { logTo } : {}) };
}

/** The node flags for `podkit <argv0> ...`: the component's own, none when argv0 is not a component. */
export function nodeFlagsFor(argv0: string | undefined): readonly string[] {
  return components[argv0 ?? '']?.nodeFlags ?? [];
}

/** `node` arguments that run a component with its flags, from the CLI script at `cli`. */
export function componentNodeArgs(name: string, cli: string): string[] {
  if (!components[name]) throw new Error(`no component ${name}`);
  return [...nodeFlagsFor(name), cli, name];
}

/** How a component's image starts it: tini reaps children and forwards signals to node. */
export function imageEntrypoint(name: string): string[] {
  return ['tini', '--', 'node', ...componentNodeArgs(name, '/app/dist/cli.js')];
}

/**
 * Every variable the components of this build other than `except` read, scoped and plain: a pod-wide
 * ConfigMap sets variables for several containers, and each warns only about those none of them knows.
 */
export async function envNamesOfComponents(except?: string): Promise<string[]> {
  const others = Object.entries(components).filter(([name]) => name !== except);
  const specs = await Promise.all(
    others.map(async ([name, entry]) => ({ name, spec: await entry.options() })),
  );
  return specs.flatMap(({ name, spec }) => knownEnvNames({ ...spec, ...commonOptions(0) }, name));
}
