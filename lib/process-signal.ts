/**
 * Finding and signalling another container's process in a pod with `shareProcessNamespace: true`: by
 * name (like `pkill name`, or `pkill -f` when the pattern has a space or a slash) or by pid file. Errors
 * say what to change in the pod spec, because that is nearly always the cause (configmap-reload #73).
 */

import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ErrorCode, PodkitError } from './errors.js';

export interface ProcessTarget {
  /** Process name (comm or argv[0] basename), or a command-line pattern when it holds a space or `/`. */
  name?: string;
  /** File holding the pid, re-read each time (the app may restart with a new pid). */
  pidFile?: string;
}

export interface FoundProcess {
  pid: number;
  command: string;
}

async function readProc(pid: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

export async function findProcesses(target: ProcessTarget): Promise<FoundProcess[]> {
  if (target.pidFile) {
    const text = await readFile(target.pidFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new PodkitError(
        ErrorCode.SIGNAL,
        `cannot read pid file ${target.pidFile}: ${err.code ?? err.message}`,
      );
    });
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new PodkitError(
        ErrorCode.SIGNAL,
        `pid file ${target.pidFile} does not hold a pid: ${JSON.stringify(text.slice(0, 20))}`,
      );
    }
    const cmdline = await readProc(String(pid), 'cmdline');
    if (cmdline === undefined)
      throw new PodkitError(ErrorCode.SIGNAL, `no process ${pid} (from ${target.pidFile}) is running`);
    return [{ pid, command: cmdline.split('\0').join(' ').trim() }];
  }
  const name = target.name;
  if (!name) throw new PodkitError(ErrorCode.SIGNAL, 'no process name or pid file to signal');
  const byPattern = /[\s/]/.test(name);
  const found: FoundProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readProc(entry, 'cmdline');
    if (!cmdline) continue; // kernel threads have an empty command line
    const argv = cmdline.split('\0').filter(Boolean);
    const command = argv.join(' ');
    const comm = (await readProc(entry, 'comm'))?.trim();
    const matches = byPattern ? command.includes(name) : comm === name || basename(argv[0] ?? '') === name;
    if (matches) found.push({ pid: Number(entry), command });
  }
  return found;
}

/** Sends `signal` to every matching process; returns them. Throws when none is found or allowed. */
export async function signalProcesses(
  target: ProcessTarget,
  signal: NodeJS.Signals,
): Promise<FoundProcess[]> {
  const found = await findProcesses(target);
  if (found.length === 0) {
    throw new PodkitError(
      ErrorCode.SIGNAL,
      `no process named ${JSON.stringify(target.name)} is visible: the pod needs shareProcessNamespace: true`,
    );
  }
  for (const { pid } of found) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') continue; // exited between finding and signalling
      if (code === 'EPERM') {
        throw new PodkitError(
          ErrorCode.SIGNAL,
          `not permitted to send ${signal} to pid ${pid}: run this container with the app's runAsUser, or add the KILL capability`,
        );
      }
      throw err;
    }
  }
  return found;
}
