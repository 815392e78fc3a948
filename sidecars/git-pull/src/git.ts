/**
 * Running one git command through simple-git: the environment from git-env.ts (and nothing else of
 * git's from ours), an abort signal that kills git when the sync's deadline passes or the process
 * stops, and failures turned into coded, one-line, credential-free errors.
 */

import { type GitError, simpleGit } from 'simple-git';
import { ErrorCode, PodkitError } from '../../../lib/errors.js';
import type { GitEnvironment } from './git-env.js';
import { redactText } from './repo-url.js';

export interface GitContext {
  environment: GitEnvironment;
  signal: AbortSignal;
  /** Values to cut from any message (the current password, a password from the URL). */
  secrets: readonly (string | undefined)[];
}

/** The reason a sync's abort signal carries when its deadline passed (rather than a shutdown). */
export class SyncDeadline extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the sync did not finish within ${timeoutMs} ms`);
  }
}

/** Messages git prints when the remote refused who we are, or we refused who the remote is. */
const authFailure =
  /Authentication failed|could not read (Username|Password)|terminal prompts disabled|Permission denied \(publickey|Host key verification failed|HTTP Basic: Access denied|The requested URL returned error: 40[13]/i;

export async function runGit(cwd: string, args: readonly string[], ctx: GitContext): Promise<string> {
  const { environment, signal } = ctx;
  const git = simpleGit({
    baseDir: cwd,
    abort: signal,
    allowEnvironment: environment.allowed,
    unsafe: {
      allowUnsafeConfigEnvCount: true,
      // git-env.ts's own GIT_CONFIG_GLOBAL=/dev/null and protocol allow-list: they shut the host's config
      // and the dangerous transports out; nothing from the user reaches them.
      allowUnsafeConfigPaths: true,
      allowUnsafeProtocolOverride: true,
      allowUnsafeCredentialHelper: environment.usesCredentialHelper,
      allowUnsafeSshCommand: environment.usesSshCommand,
      // Only ever git-env.ts's fixed upload-pack for file:// remotes; nothing from the user reaches it.
      allowUnsafePack: args.includes('--upload-pack'),
    },
  });
  try {
    return await git.env(environment.env).raw([...args]);
  } catch (err) {
    throw gitFailure(args, err, ctx);
  }
}

function gitFailure(args: readonly string[], err: unknown, ctx: GitContext): PodkitError {
  const command = `git ${args.find((arg) => !arg.startsWith('-')) ?? args[0]}`;
  const reason = ctx.signal.reason;
  if (ctx.signal.aborted && reason instanceof SyncDeadline) {
    return new PodkitError(
      ErrorCode.SYNC_TIMEOUT,
      `${command} was killed: the sync did not finish within ${reason.timeoutMs} ms (--sync-timeout)`,
    );
  }
  if (ctx.signal.aborted) return new PodkitError(ErrorCode.GIT, `${command} was stopped: shutting down`);
  const output = (err as GitError).message ?? String(err);
  const text = redactText(summarize(output), ctx.secrets);
  const code = authFailure.test(output) ? ErrorCode.GIT_AUTH : ErrorCode.GIT;
  return new PodkitError(code, `${command} failed: ${text}`);
}

/** Lines git adds to every remote failure, which say nothing about this one. */
const boilerplate = /^(Please make sure you have the correct access rights|and the repository exists\.)$/;

/**
 * git's output, trimmed to what says what went wrong: the cause often comes just before git's own
 * fatal line (ssh's "Host key verification failed.") or just after it (the errno of a refused connect).
 */
function summarize(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !boilerplate.test(line));
  const first = lines.findIndex((line) => /^(fatal|error|remote: error|ERROR):?/i.test(line));
  const chosen = (
    lines.length <= 4 ? lines : lines.slice(Math.max(0, first - 1), Math.max(0, first - 1) + 4)
  ).join(' | ');
  return chosen.length > 500 ? `${chosen.slice(0, 497)}...` : chosen || 'no output';
}
