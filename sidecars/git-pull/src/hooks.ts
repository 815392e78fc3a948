/**
 * The three after-publish notifications, each one delivery for a Notifier to retry: a shell command run
 * in the new worktree, and the app notifiers of lib/notify-app.ts (an HTTP call, a signal to the app's
 * process). Each delivery is one attempt: the Notifier retries until success or a newer revision, so
 * the app always hears about the live revision (git-sync's hook semantics).
 */

import { runCommand } from '../../../lib/command.js';
import type { AppNotifier, WebhookMessage } from '../../../lib/notify-app.js';
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

/** What a webhook gets: the hash in a header (git-sync's name too) and, unless it is a GET, a JSON body. */
export function revisionMessage(revision: Revision, method: string): WebhookMessage {
  const headers = { 'podkit-git-hash': revision.hash, 'gitsync-hash': revision.hash };
  if (method === 'GET') return { headers };
  return {
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ hash: revision.hash, ref: revision.ref }),
  };
}

/** A delivery through an app notifier: `HTTP 204`, `SIGHUP to pid 42`. */
export function notifyApp(
  notifier: AppNotifier,
  message: (revision: Revision) => WebhookMessage | undefined,
) {
  return async (revision: Revision, signal: AbortSignal): Promise<string> =>
    (await notifier.notify(signal, message(revision))).detail;
}
