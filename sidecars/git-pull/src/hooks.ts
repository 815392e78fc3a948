/**
 * The three after-publish notifications, each one delivery for a Notifier to retry: a shell command run
 * in the new worktree, an HTTP call, a signal to the app's process. All built on lib/ (command.ts,
 * webhook.ts, process-signal.ts).
 */

import { runCommand } from '../../../lib/command.js';
import { signalProcesses } from '../../../lib/process-signal.js';
import { callWebhook } from '../../../lib/webhook.js';
import type { Revision } from './notifier.js';

/**
 * What a hook sees: our environment without podkit's own settings (which include secrets), plus the
 * revision. GITSYNC_HASH is set too, so hooks written for git-sync run unchanged.
 */
export function hookEnvironment(base: NodeJS.ProcessEnv, revision: Revision): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) if (!key.startsWith('PODKIT_')) env[key] = value;
  return {
    ...env,
    PODKIT_GIT_HASH: revision.hash,
    PODKIT_GIT_REF: revision.ref,
    PODKIT_GIT_WORKTREE: revision.worktree,
    GITSYNC_HASH: revision.hash,
  };
}

export function execHook(command: string, timeoutMs: number) {
  return async (revision: Revision): Promise<string> => {
    const result = await runCommand({
      command: ['sh', '-c', command],
      cwd: revision.worktree,
      env: hookEnvironment(process.env, revision),
      timeoutMs,
    });
    return `exit 0 after ${result.durationMs} ms`;
  };
}

export interface WebhookSettings {
  url: URL;
  method: 'POST' | 'PUT' | 'GET';
  successStatus: number;
  timeoutMs: number;
}

export function webhook(settings: WebhookSettings) {
  return async (revision: Revision, signal: AbortSignal): Promise<string> => {
    const withBody = settings.method !== 'GET';
    const result = await callWebhook({
      url: settings.url,
      method: settings.method,
      headers: {
        'podkit-git-hash': revision.hash,
        'gitsync-hash': revision.hash,
        ...(withBody ? { 'content-type': 'application/json' } : {}),
      },
      ...(withBody ? { body: JSON.stringify({ hash: revision.hash, ref: revision.ref }) } : {}),
      timeoutMs: settings.timeoutMs,
      // The notifier retries with its own backoff until success or a newer revision.
      attempts: 1,
      ...(settings.successStatus ? { successStatus: settings.successStatus } : {}),
      signal,
    });
    return `HTTP ${result.status}`;
  };
}

export function signalApp(signal: NodeJS.Signals, target: { name?: string; pidFile?: string }) {
  return async (): Promise<string> => {
    const found = await signalProcesses(target, signal);
    return `${signal} to pid ${found.map((p) => p.pid).join(', ')}`;
  };
}
