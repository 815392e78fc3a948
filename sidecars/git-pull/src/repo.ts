/**
 * The git side of a sync, command by command: a bare repository in `<root>/.git` that only ever fetches
 * (shallow by default), and one worktree per commit in `<root>/.worktrees/<hash>`, made with
 * `git worktree add --detach`. Worktrees point back at the repository by a relative path, so the app
 * may mount the volume anywhere.
 */

import { lstat, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { ensureDir } from '../../../lib/atomic-fs.js';
import { type GitContext, runGit } from './git.js';
import { uploadPackArgs } from './git-env.js';
import type { Transport } from './repo-url.js';

export type SubmoduleMode = 'recursive' | 'shallow' | 'off';

export interface RepoSettings {
  root: string;
  /** The remote, without credentials. */
  url: string;
  transport: Transport;
  depth: number;
  submodules: SubmoduleMode;
}

/** Lock files a killed git can leave behind; we are the only writer, so a leftover is always stale. */
const lockFiles = [
  'shallow.lock',
  'packed-refs.lock',
  'config.lock',
  'HEAD.lock',
  'FETCH_HEAD.lock',
  'index.lock',
];

export class GitRepo {
  readonly gitDir: string;
  readonly worktreesDir: string;

  constructor(readonly settings: RepoSettings) {
    this.gitDir = join(settings.root, '.git');
    this.worktreesDir = join(settings.root, '.worktrees');
  }

  worktreePath(hash: string): string {
    return join(this.worktreesDir, hash);
  }

  /** Makes `<root>/.git` a usable bare repository, re-creating it when a crash left it unusable. */
  async prepare(ctx: GitContext): Promise<void> {
    await ensureDir(this.settings.root);
    await this.removeStaleLocks();
    if (await this.#isBareRepo(ctx)) return;
    await rm(this.gitDir, { recursive: true, force: true });
    await ensureDir(this.gitDir);
    await runGit(this.gitDir, ['init', '--bare', '--quiet'], ctx);
  }

  async #isBareRepo(ctx: GitContext): Promise<boolean> {
    try {
      await lstat(join(this.gitDir, 'HEAD'));
      return (await runGit(this.gitDir, ['rev-parse', '--is-bare-repository'], ctx)).trim() === 'true';
    } catch {
      return false;
    }
  }

  async removeStaleLocks(): Promise<void> {
    await Promise.all(lockFiles.map((name) => rm(join(this.gitDir, name), { force: true })));
  }

  lsRemote(patterns: readonly string[], ctx: GitContext): Promise<string> {
    return runGit(
      this.gitDir,
      ['ls-remote', ...uploadPackArgs(this.settings.transport), this.settings.url, ...patterns],
      ctx,
    );
  }

  async hasCommit(hash: string, ctx: GitContext): Promise<boolean> {
    try {
      await runGit(this.gitDir, ['cat-file', '-e', `${hash}^{commit}`], ctx);
      return true;
    } catch {
      return false;
    }
  }

  /** Fetches a ref name or a commit hash and returns the commit fetched. */
  async fetch(what: string, ctx: GitContext): Promise<string> {
    const depth = this.settings.depth > 0 ? ['--depth', String(this.settings.depth)] : [];
    const uploadPack = uploadPackArgs(this.settings.transport);
    await runGit(
      this.gitDir,
      ['fetch', '--quiet', '--no-tags', ...depth, ...uploadPack, this.settings.url, what],
      ctx,
    );
    return (await runGit(this.gitDir, ['rev-parse', '--verify', 'FETCH_HEAD^{commit}'], ctx)).trim();
  }

  /** The commit a worktree has checked out, or undefined when it is not an intact worktree. */
  async worktreeHead(path: string, ctx: GitContext): Promise<string | undefined> {
    try {
      // Without its own .git file, git would find the bare repository in a parent directory instead.
      if (!(await lstat(join(path, '.git'))).isFile()) return undefined;
      return (await runGit(path, ['rev-parse', 'HEAD'], ctx)).trim();
    } catch {
      return undefined;
    }
  }

  /** A complete worktree of `hash` (reused when an intact one exists), submodules included. */
  async checkout(hash: string, ctx: GitContext): Promise<string> {
    const path = this.worktreePath(hash);
    if ((await this.worktreeHead(path, ctx)) === hash) return path;
    const leftover = await lstat(path).then(
      () => true,
      () => false,
    );
    if (leftover) {
      await rm(path, { recursive: true, force: true });
      await runGit(this.gitDir, ['worktree', 'prune'], ctx);
    }
    // --force also takes over a registration whose directory is gone.
    await ensureDir(this.worktreesDir);
    try {
      await runGit(this.gitDir, ['worktree', 'add', '--quiet', '--detach', '--force', path, hash], ctx);
      await this.#relativeGitdir(path);
      await this.#submodules(path, ctx);
    } catch (err) {
      // Never leave a half-made worktree that a later run could take for a complete one.
      await rm(path, { recursive: true, force: true });
      throw err;
    }
    return path;
  }

  async #relativeGitdir(path: string): Promise<void> {
    const dotGit = join(path, '.git');
    const gitdir = /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'))?.[1]?.trim();
    if (gitdir?.startsWith('/')) await writeFile(dotGit, `gitdir: ${relative(dirname(dotGit), gitdir)}\n`);
  }

  async #submodules(path: string, ctx: GitContext): Promise<void> {
    const { submodules, depth } = this.settings;
    if (submodules === 'off') return;
    const hasModules = await lstat(join(path, '.gitmodules')).then(
      () => true,
      () => false,
    );
    if (!hasModules) return;
    const args = ['submodule', 'update', '--init', '--quiet'];
    if (submodules === 'recursive') args.push('--recursive');
    if (depth > 0) args.push('--depth', String(depth));
    await runGit(path, args, ctx);
  }

  /** Deletes worktrees by name and lets git forget them. */
  async remove(names: readonly string[], ctx: GitContext): Promise<void> {
    if (names.length === 0) return;
    for (const name of names) await rm(join(this.worktreesDir, name), { recursive: true, force: true });
    await runGit(this.gitDir, ['worktree', 'prune'], ctx);
    // Commits no worktree uses any more become garbage; let git collect it when there is enough.
    await runGit(this.gitDir, ['gc', '--auto', '--quiet'], ctx);
  }
}
