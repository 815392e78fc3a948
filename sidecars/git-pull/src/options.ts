/**
 * git-pull's option spec. It imports lib/options, the shared option groups and the pure --repo and --ref
 * parsers (which import only lib/option-types), so other components load it cheaply to learn its names.
 */

import { notifyOptions } from '../../../lib/option-groups/notify.js';
import { tlsClientOptions } from '../../../lib/option-groups/tls-client.js';
import { opt } from '../../../lib/options.js';
import { parseRef } from './remote-ref.js';
import { parseRepo } from './repo-url.js';

export const gitPullOptions = {
  // Parsed once into a RepoAddress, which logs without its password (the start-up log prints options).
  repo: opt.custom(parseRepo, {
    required: true,
    placeholder: '<url>',
    typeName: 'git URL',
    description:
      'Git repository to sync: https://, http://, ssh://, user@host:path, git:// or file:// (credentials in the URL are moved out of git arguments and redacted).',
  }),
  ref: opt.custom(parseRef, {
    default: 'HEAD',
    placeholder: '<ref>',
    typeName: 'git ref',
    description:
      "Branch, tag, full ref or full commit hash to publish; HEAD follows the remote's default branch. Checked against git's ref-name rules (nothing starting with -).",
  }),
  root: opt.string({
    required: true,
    description:
      'Directory (usually a shared volume) that holds the git data in .git, one worktree per commit in .worktrees and the link.',
  }),
  link: opt.string({
    default: '',
    description:
      "Name of the symlink under --root that the app reads; it always points at a complete worktree (default: the repository's name).",
  }),
  depth: opt.int({
    default: 1,
    min: 0,
    description: 'Commits of history to fetch; 0 fetches the full history.',
  }),
  period: opt.duration({
    default: '10s',
    min: '50ms',
    description: 'Time between syncs; POST /sync on the admin port syncs at once.',
  }),
  syncTimeout: opt.duration({
    default: '120s',
    min: '100ms',
    description:
      'Longest time one sync may take; git is killed when it is exceeded and the sync counts as failed.',
  }),
  oneTime: opt.bool({
    description:
      'Sync once and exit (an init container): 0 with the tree in place, 1 with the reason when --max-failures is reached or a hook fails.',
  }),
  maxFailures: opt.int({
    default: 10,
    min: -1,
    description:
      'Exit 1 once this many consecutive syncs have failed, so the orchestrator notices (0 and 1: at the first failure; -1: never).',
  }),
  maxBackoff: opt.duration({
    default: '60s',
    min: '100ms',
    description:
      'After failures, retries start after min(1s, --period) and double up to this delay; a success returns to --period.',
  }),
  submodules: opt.enum(['recursive', 'shallow', 'off'], {
    default: 'recursive',
    description: 'Submodules to check out: all levels, the first level only, or none.',
  }),
  symlinks: opt.bool({
    default: true,
    description:
      'Check out symlinks as links; --no-symlinks writes each as a plain file holding its target (core.symlinks=false), so no link in the repository can point the app outside the tree.',
  }),
  username: opt.string({
    description: 'User name for an http(s) remote; the password comes from --password-file.',
  }),
  password: opt.secret({
    description: 'Password or token for an http(s) remote, re-read on every sync.',
  }),
  sshKeyFile: opt.file({
    mustExist: true,
    description: 'Private key for an SSH remote (mount it with defaultMode 0400).',
  }),
  knownHostsFile: opt.file({
    mustExist: true,
    description:
      "known_hosts for an SSH remote; host keys are always checked, so without it only the image's known hosts are trusted.",
  }),
  exechookCommand: opt.string({
    description:
      'Shell command run in the new worktree after each publish, with PODKIT_GIT_HASH (and GITSYNC_HASH) set; retried until it succeeds.',
  }),
  exechookTimeout: opt.duration({
    default: '30s',
    min: '10ms',
    description: 'Longest time one run of --exechook-command may take before its process group is killed.',
  }),
  ...notifyOptions,
  ...tlsClientOptions,
  keepWorktrees: opt.int({
    default: 1,
    min: 0,
    description:
      'Previous worktrees kept besides the live one, so readers that resolved the link earlier can finish.',
  }),
  syncToken: opt.secret({
    description:
      'Bearer token that turns POST /sync on for its holders (re-read per request); without it or --sync-open POST /sync answers 403.',
  }),
  syncOpen: opt.bool({
    description:
      'Accept POST /sync without a token: whoever reaches the admin port can then make git-pull fetch and publish what the remote has now (not another repository or ref), once per --sync-min-interval, and read the result (hash, redacted error).',
  }),
  syncMinInterval: opt.duration({
    default: '1s',
    min: '0',
    description:
      'Rate limit of POST /sync, counted apart for token holders and for callers without a token: sooner requests get 429 with Retry-After.',
  }),
};
