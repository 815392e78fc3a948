/**
 * The components this build of podkit contains. Each entry loads its module only when it is run, so
 * `podkit <component>` starts without importing every other component's dependencies.
 */

import { type Component, commonOptions } from './lib/component.js';
import { knownEnvNames, type Spec } from './lib/options.js';

export interface ComponentEntry {
  readonly summary: string;
  /** Where its source and README live, e.g. `sidecars/tls-proxy`. */
  readonly dir: string;
  load(): Promise<Component>;
  /**
   * Its own option spec alone (its `options.ts`, which imports only lib/options): what another
   * component loads to know this one's variables, without loading this one.
   */
  options(): Promise<Spec>;
  /**
   * Node flags its image runs it with (the ENTRYPOINT of its Dockerfile; a test keeps the two equal).
   * Components that spend their lives waiting on git, files, an API or a probe run without V8's
   * optimizing compiler and with a 1 MB young generation: TurboFan's compiled code and compile memory
   * are about 17 MB of such a process's idle RSS and buy it nothing a user can notice. Data-plane
   * components keep TurboFan (optimized code is their throughput) with a larger tier-up budget.
   */
  readonly nodeFlags: readonly string[];
}

/**
 * Flags for a process whose own JavaScript is a small share of its work. For Node 20 (V8 11.3), whose
 * only optimizing tier is TurboFan; from Node 22 Maglev is on by default and needs `--no-maglev` too.
 * Sparkplug, the baseline compiler, is off as well: what it compiles for a sync or a probe round stays
 * resident with the compiler's own pages, about 1.5 MB of git-pull's RSS after a few syncs.
 */
export const controlPlaneFlags = [
  '--max-semi-space-size=1',
  '--no-turbofan',
  '--no-sparkplug',
  '--optimize-for-size',
] as const;

/** A control plane that works in bursts and collects their garbage itself (lib/burst-garbage.ts). */
export const burstyControlPlaneFlags = [...controlPlaneFlags, '--expose-gc'] as const;

/**
 * Flags for the data planes (tls-proxy, mysql-broker): four times V8's interrupt budget (67584 bytes of
 * bytecode run) before a function is considered for TurboFan. With the default, start-up alone (module
 * loading, the certificate watch) makes node's own path functions hot enough to optimize, and the
 * compiler's code pages stay resident from then on: 3-4 MB of an idle process. Under load the hot path
 * crosses the larger budget within milliseconds; CPU per request is unchanged (A/B, tls-proxy l7 and l4).
 */
export const dataPlaneFlags = ['--interrupt-budget=270336'] as const;

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

export const components: Readonly<Record<string, ComponentEntry>> = {
  'config-sync': {
    summary:
      'configuration from ConfigMaps, a directory or a URL into a shared directory, then SIGHUP to the app',
    dir: 'sidecars/config-sync',
    load: async () => (await import('./sidecars/config-sync/src/component.js')).configSync,
    options: async () => (await import('./sidecars/config-sync/src/options.js')).options,
    nodeFlags: controlPlaneFlags,
  },
  'db-health': {
    summary: 'liveness, readiness and startup probes for a database, from real queries',
    dir: 'adapters/db-health',
    load: async () => (await import('./adapters/db-health/src/component.js')).dbHealth,
    options: async () => (await import('./adapters/db-health/src/options.js')).dbHealthOptions,
    nodeFlags: controlPlaneFlags,
  },
  'git-pull': {
    summary:
      'keeps a shared volume in sync with a git repository: atomic publish, reload the app, POST /sync',
    dir: 'sidecars/git-pull',
    load: async () => (await import('./sidecars/git-pull/src/component.js')).gitPull,
    options: async () => (await import('./sidecars/git-pull/src/options.js')).gitPullOptions,
    nodeFlags: burstyControlPlaneFlags,
  },
  'log-normalizer': {
    summary:
      "any app's logs (files, globs, stdin; JSON, syslog, glog, log4j, access logs...) as one JSON stream on stdout",
    dir: 'adapters/log-normalizer',
    load: async () => (await import('./adapters/log-normalizer/src/component.js')).logNormalizer,
    options: async () => (await import('./adapters/log-normalizer/src/options.js')).logNormalizerOptions,
    nodeFlags: dataPlaneFlags,
  },
  'mysql-broker': {
    summary: 'ambassador: the app talks to localhost:3306, the broker finds (or creates) MySQL',
    dir: 'ambassadors/mysql-broker',
    load: async () => (await import('./ambassadors/mysql-broker/src/component.js')).mysqlBroker,
    options: async () => (await import('./ambassadors/mysql-broker/src/options.js')).mysqlBrokerOptions,
    nodeFlags: dataPlaneFlags,
  },
  'tls-proxy': {
    summary: 'HTTPS/mTLS termination in front of a localhost-only service (l7 HTTP/1.1 + HTTP/2, or l4)',
    dir: 'sidecars/tls-proxy',
    load: async () => (await import('./sidecars/tls-proxy/src/component.js')).tlsProxy,
    options: async () => (await import('./sidecars/tls-proxy/src/options.js')).tlsProxyOptions,
    nodeFlags: dataPlaneFlags,
  },
};

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
