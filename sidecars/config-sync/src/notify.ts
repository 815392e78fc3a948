/**
 * Telling the app that its configuration changed: a signal to a process found by name or pid file in the
 * pod's shared PID namespace, or an HTTP call. One notification per published change set.
 */

import { redactUrl } from '../../../lib/option-types.js';
import { signalProcesses } from '../../../lib/process-signal.js';
import { callWebhook } from '../../../lib/webhook.js';
import type { SignalName } from './options.js';

export interface Notifier {
  /** For logs: what gets notified and how. */
  readonly target: string;
  /** Resolves with what was done (pids signalled, HTTP status); rejects with a coded error. */
  notify(signal: AbortSignal): Promise<Record<string, unknown>>;
}

export interface NotifyOptions {
  signal: SignalName;
  processName?: string | undefined;
  pidFile?: string | undefined;
  reloadUrl?: URL | undefined;
  reloadMethod: string;
}

/** The configured notifier, or undefined when the app watches the files itself. */
export function createNotifier(options: NotifyOptions): Notifier | undefined {
  const { reloadUrl, processName, pidFile } = options;
  if (reloadUrl) {
    return {
      target: `${options.reloadMethod} ${redactUrl(reloadUrl)}`,
      async notify(abort) {
        const result = await callWebhook({
          url: reloadUrl,
          method: options.reloadMethod,
          timeoutMs: 5000,
          attempts: 3,
          signal: abort,
        });
        return { status: result.status, attempts: result.attempts };
      },
    };
  }
  if (processName === undefined && pidFile === undefined) return undefined;
  const signal = `SIG${options.signal}` as NodeJS.Signals;
  const target = pidFile ? { pidFile } : { name: processName as string };
  return {
    target: `${signal} to ${pidFile ? `the pid in ${pidFile}` : `processes named ${JSON.stringify(processName)}`}`,
    async notify() {
      const found = await signalProcesses(target, signal);
      return { signal, pids: found.map((p) => p.pid) };
    },
  };
}
