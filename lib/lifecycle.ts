/**
 * The life of a component process, the same for all of them (after ghostunnel's main.go and
 * signals.go): validate options before anything listens (bad input: exit 2), start, serve, and on
 * SIGTERM/SIGINT turn /readyz to 503, stop taking work, drain within --shutdown-timeout (exit 0, or 1
 * when the deadline passes); a second signal exits at once. SIGHUP asks the component to reload.
 *
 * This module is the part before serving: --help, --version, option parsing and one-shot runs (exec
 * probes, which the kubelet starts every period). It loads neither the admin server, prom-client nor pino; the
 * serving part (lifecycle-run.ts) is imported only when the component really starts.
 *
 * `runComponent` resolves with the exit code; the CLI owns the single `process.exit`.
 */

import { type Component, type ComponentOptions, fullSpec } from './component.js';
import { ConfigError } from './errors.js';
import { knownEnvNames, parseOptions, type Spec, unknownEnv, unknownEnvWarnings } from './options.js';
import { helpText } from './options-docs.js';
import { configFailure, type ProcessIo, terminationLogPath } from './termination-log.js';
import { podkitVersion } from './version.js';

export type { ProcessIo };

const defaultIo = (): ProcessIo => ({ stdout: process.stdout, stderr: process.stderr, signals: process });

export interface RunContext {
  /**
   * The variables other components of this build read (scoped and plain), so that a pod-wide ConfigMap
   * meant for several containers is not warned about. Asked only when a variable is unknown here.
   */
  knownElsewhere?(): Promise<Iterable<string>>;
}

export async function runComponent<S extends Spec>(
  component: Component<S>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ProcessIo = defaultIo(),
  context: RunContext = {},
): Promise<number> {
  const spec = fullSpec(component);
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(
      helpText(
        `podkit ${component.name}: ${component.summary}`,
        `podkit ${component.name} [options]`,
        spec,
        component.name,
      ),
    );
    return 0;
  }
  if (argv.includes('--version')) {
    io.stdout.write(`podkit ${component.name} ${podkitVersion()}\n`);
    return 0;
  }

  let options: ComponentOptions<S>;
  let warnings: string[];
  try {
    const parsed = parseOptions(spec, argv, env, { component: component.name });
    options = parsed.values as ComponentOptions<S>;
    warnings = parsed.warnings;
    component.check?.(options, parsed.given);
    const oneShotCode = await component.oneShot?.(options, io, parsed.given);
    if (oneShotCode !== undefined) return oneShotCode;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return configFailure(component.name, err, terminationLogPath(component.name, argv, env), io);
  }

  // After a one-shot mode had its chance: an exec probe never pays for loading other option specs.
  const unknown = unknownEnv(spec, env, component.name);
  if (unknown.length > 0) {
    const elsewhere = (await context.knownElsewhere?.()) ?? [];
    warnings.push(...unknownEnvWarnings(unknown, [...knownEnvNames(spec, component.name), ...elsewhere]));
  }

  const { serveComponent } = await import('./lifecycle-run.js');
  return serveComponent(component, options, warnings, io);
}
