/**
 * How a component reports why it ended: one line on stderr for bad configuration (exit 2), and the same
 * text in the Kubernetes termination log, which `kubectl describe pod` shows as the container's last
 * state. Shared by the option parsing before start and the running lifecycle.
 */

import { writeFileSync } from 'node:fs';
import { commonOptions } from './component.js';
import type { ConfigError } from './errors.js';
import { envVariables } from './option-names.js';

/** Where a component writes: the real process unless a test passes its own streams and emitter. */
export interface ProcessIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Where SIGTERM/SIGINT/SIGHUP arrive; the real process unless a test passes an emitter. */
  signals: NodeJS.EventEmitter;
}

export function configFailure(
  name: string,
  err: ConfigError,
  terminationLog: string | undefined,
  io: ProcessIo,
): number {
  io.stderr.write(`podkit ${name}: ${err.message}\n`);
  writeTerminationLog(terminationLog, err.message);
  return 2;
}

/** Best effort: the file exists in Kubernetes pods and nowhere else, which is fine. */
export function writeTerminationLog(path: string | undefined, message: string): void {
  if (!path) return;
  try {
    writeFileSync(path, `${message}\n`);
  } catch {
    // Not writable here (outside Kubernetes): the same text is on stderr or in the log.
  }
}

/** The termination-log path before full parsing succeeds (a config error must still be written there). */
export function terminationLogPath(
  component: string,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): string | undefined {
  const flag = '--termination-log';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
    if (arg === flag) return argv[i + 1];
  }
  const option = commonOptions(0).terminationLog;
  const variable = envVariables('terminationLog', option, component).find((v) => env[v.name] !== undefined);
  return variable ? env[variable.name] : option.default;
}
