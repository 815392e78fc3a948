/**
 * Running a user's command (an exec hook, a validation command) with a deadline: its own process group
 * so the whole tree is killed on timeout, output captured (bounded) for the log, exit code reported.
 */

import { spawn } from 'node:child_process';
import { ErrorCode, PodkitError } from './errors.js';

export interface CommandOptions {
  /** argv; run without a shell unless the caller passes ['sh', '-c', ...]. */
  command: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  input?: string;
  /** Output kept for errors and logs, from the end. */
  maxOutputBytes?: number;
}

export interface CommandResult {
  exitCode: number;
  output: string;
  durationMs: number;
}

/** Resolves on exit code 0; rejects with a PodkitError naming the exit code or the timeout otherwise. */
export function runCommand(options: CommandOptions): Promise<CommandResult> {
  const [file, ...args] = options.command;
  if (!file) return Promise.reject(new PodkitError(ErrorCode.COMMAND, 'empty command'));
  const limit = options.maxOutputBytes ?? 16 * 1024;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true, // its own process group, so a timeout kills hook children too
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-limit);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    if (options.input !== undefined) child.stdin?.end(options.input);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(
        new PodkitError(
          ErrorCode.COMMAND,
          `cannot run ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
        ),
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const durationMs = Date.now() - started;
      const tail = output.trim() ? `: ${output.trim().split('\n').slice(-5).join(' | ')}` : '';
      if (timedOut)
        reject(new PodkitError(ErrorCode.COMMAND, `${file} timed out after ${options.timeoutMs} ms${tail}`));
      else if (code === 0) resolve({ exitCode: 0, output, durationMs });
      else reject(new PodkitError(ErrorCode.COMMAND, `${file} exited with ${code ?? signal}${tail}`));
    });
  });
}
