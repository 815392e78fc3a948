/**
 * One sync, start to end: find the commit --ref names (one ls-remote, or nothing for a hash), fetch it
 * unless it is already here, check it out into its own worktree, point the link at it in one rename,
 * then remove worktrees beyond --keep-worktrees. Until the rename the app sees the previous tree; if
 * anything fails before it, the previous tree simply stays published.
 */

import { lstat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { currentLink, swapSymlink } from '../../../lib/atomic-fs.js';
import { describeError, ErrorCode, PodkitError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { GitContext } from './git.js';
import { type GitCredentials, type GitSettings, gitEnvironment } from './git-env.js';
import { lsRemotePatterns, missingRefMessage, pickRemoteRef, refTarget } from './remote-ref.js';
import type { GitRepo } from './repo.js';
import type { RepoAddress } from './repo-url.js';
import { byRecency, listWorktrees, promote, touch, worktreesToRemove } from './worktrees.js';

export interface SyncResult {
  /** False when the wanted commit was already published (a no-op sync). */
  changed: boolean;
  hash: string;
  worktree: string;
}

export interface SyncerOptions {
  repo: GitRepo;
  address: RepoAddress;
  /** Credentials written into --repo (a password, a token as the user name): cut from every message. */
  urlSecrets: readonly (string | undefined)[];
  ref: string;
  /** Absolute path of the symlink the app reads. */
  linkPath: string;
  keepWorktrees: number;
  /** Git settings that do not change between syncs (--no-symlinks). */
  git: GitSettings;
  /** Credentials as they are now (the password file is read again for every sync). */
  credentials(): Promise<GitCredentials>;
  log: Logger;
  /** Called when a revision becomes live: published by a sync, or found published by a previous run. */
  onLive(hash: string, how: 'published' | 'adopted'): void;
}

export class Syncer {
  #live: string | undefined;
  /** Worktree names in publish order, newest (the live one) first. */
  #recent: string[] = [];
  #prepared = false;
  #cleanupDue = false;

  constructor(readonly options: SyncerOptions) {}

  get live(): string | undefined {
    return this.#live;
  }

  async sync(signal: AbortSignal): Promise<SyncResult> {
    try {
      return await this.#sync(signal);
    } catch (err) {
      // A git killed by the deadline or a shutdown may leave lock files that would fail every later sync.
      if (signal.aborted) await this.options.repo.removeStaleLocks();
      throw err;
    }
  }

  async #sync(signal: AbortSignal): Promise<SyncResult> {
    const ctx = await this.#context(signal);
    const { repo } = this.options;
    if (!this.#prepared) {
      await repo.prepare(ctx);
      await this.#adopt(ctx);
      this.#prepared = true;
    }
    const hash = await this.#wantedCommit(ctx);
    if (hash === this.#live && (await this.#stillPublished(hash))) {
      return { changed: false, hash, worktree: repo.worktreePath(hash) };
    }
    const worktree = await repo.checkout(hash, ctx);
    await touch(worktree);
    await swapSymlink(this.options.linkPath, worktree);
    const previous = this.#live;
    this.#live = hash;
    this.#recent = promote(this.#recent, hash);
    this.options.log.info({ hash, ref: this.options.ref, previous, worktree }, 'published');
    this.options.onLive(hash, 'published');
    this.#cleanupDue = true;
    return { changed: true, hash, worktree };
  }

  /**
   * Removes worktrees beyond --keep-worktrees after a publish. Separate from sync() so POST /sync can
   * answer as soon as the new revision is live; the loop runs it before the next sync, never alongside.
   */
  async cleanup(signal: AbortSignal): Promise<void> {
    if (!this.#cleanupDue) return;
    this.#cleanupDue = false;
    try {
      await this.#removeOldWorktrees(await this.#context(signal));
    } catch (err) {
      if (signal.aborted) await this.options.repo.removeStaleLocks();
      this.options.log.warn({ err: describeError(err) }, 'could not remove old worktrees');
    }
  }

  async #context(signal: AbortSignal): Promise<GitContext> {
    let credentials: GitCredentials;
    try {
      credentials = await this.options.credentials();
    } catch (err) {
      throw new PodkitError(ErrorCode.GIT_AUTH, `cannot read the credentials: ${describeError(err)}`);
    }
    return {
      environment: gitEnvironment(process.env, credentials, this.options.git),
      signal,
      secrets: [credentials.password, ...this.options.urlSecrets],
    };
  }

  async #wantedCommit(ctx: GitContext): Promise<string> {
    const { repo, ref, address } = this.options;
    const target = refTarget(ref);
    if (target.kind === 'commit') {
      if (target.hash === this.#live || (await repo.hasCommit(target.hash, ctx))) return target.hash;
      try {
        return await repo.fetch(target.hash, ctx);
      } catch (err) {
        if (
          err instanceof PodkitError &&
          err.code === ErrorCode.GIT &&
          /not our ref|remote error/i.test(err.message)
        )
          throw new PodkitError(ErrorCode.GIT_REF, missingRefMessage(ref, address.display));
        throw err;
      }
    }
    const remote = pickRemoteRef(target.ref, await repo.lsRemote(lsRemotePatterns(target.ref), ctx));
    if (!remote) throw new PodkitError(ErrorCode.GIT_REF, missingRefMessage(ref, address.display));
    if (remote.shadowed.length) {
      this.options.log.warn({ ref, using: remote.name, shadowed: remote.shadowed }, 'ref is ambiguous');
    }
    if (remote.hash === this.#live) return remote.hash;
    // Fetch by name, not by the hash just listed: a push in between is simply picked up now. (A commit
    // already here, e.g. after a force-push back, costs one round trip: cheaper than asking git first.)
    return repo.fetch(remote.name, ctx);
  }

  /** Someone may have deleted the link or the worktree under us: then the sync publishes again. */
  async #stillPublished(hash: string): Promise<boolean> {
    const intact = await lstat(join(this.options.repo.worktreePath(hash), '.git')).then(
      () => true,
      () => false,
    );
    return intact && (await currentLink(this.options.linkPath)) === join('.worktrees', hash);
  }

  /** A previous run (this container restarted) may have published already: keep serving that. */
  async #adopt(ctx: GitContext): Promise<void> {
    const { repo, linkPath, log } = this.options;
    const present = await byRecency(repo.worktreesDir, await listWorktrees(repo.worktreesDir));
    const target = await currentLink(linkPath);
    const hash = target === undefined ? undefined : basename(target);
    if (
      hash &&
      target === join('.worktrees', hash) &&
      (await repo.worktreeHead(repo.worktreePath(hash), ctx)) === hash
    ) {
      this.#live = hash;
      this.#recent = promote(present, hash);
      log.info(
        { hash, worktree: repo.worktreePath(hash) },
        'found a published revision: serving it until the first sync',
      );
      this.options.onLive(hash, 'adopted');
    } else {
      this.#recent = present;
    }
  }

  async #removeOldWorktrees(ctx: GitContext): Promise<void> {
    const { repo, keepWorktrees, log } = this.options;
    try {
      const doomed = worktreesToRemove(await listWorktrees(repo.worktreesDir), this.#recent, keepWorktrees);
      if (doomed.length === 0) return;
      await repo.remove(doomed, ctx);
      this.#recent = this.#recent.filter((name) => !doomed.includes(name));
      log.debug({ removed: doomed }, 'removed old worktrees');
    } catch (err) {
      // The new revision is live; a failed cleanup is retried after the next publish.
      log.warn({ err: describeError(err) }, 'could not remove old worktrees');
    }
  }

  /** For start-up checks: the link must be ours to replace (a symlink) or absent. */
  static async checkLink(linkPath: string): Promise<string | undefined> {
    try {
      const stats = await lstat(linkPath);
      return stats.isSymbolicLink()
        ? undefined
        : `${linkPath} exists and is not a symlink; it is left untouched`;
    } catch {
      return undefined;
    }
  }
}
