/**
 * The environment each git command runs with. Credentials reach git only through it, never through
 * arguments (which any process in the pod can read in /proc/<pid>/cmdline):
 *
 * - http(s): a credential helper given as `GIT_CONFIG_*` (command-line scope), scoped to the remote's
 *   origin so submodules on other hosts never see the password; it prints the user name and password
 *   from two variables that exist only in the environment of that git process.
 * - ssh: `GIT_SSH_COMMAND` with the key, the known_hosts file, strict host key checking and batch mode
 *   (a prompt would hang the sync), and `-F /dev/null`: no ssh_config of the host's applies.
 *
 * The host's git config (system, global, XDG) is not read either: a `protocol.file.allow=always` or a
 * credential helper there would change what a sync may fetch or where a password goes. Transports are
 * an allow-list: http(s), ssh and git always, file:// only for --repo itself (git's "user": never for a
 * submodule), every other (ext::, fd::, remote helpers) never.
 *
 * Pure: the caller reads the password file (afresh for every sync) and passes the values in.
 */

import type { Transport } from './repo-url.js';

export interface GitCredentials {
  transport: Transport;
  /** `scheme://host[:port]` of an http(s) remote. */
  origin?: string;
  username?: string;
  password?: string;
  sshKeyFile?: string;
  knownHostsFile?: string;
}

export interface GitEnvironment {
  env: Record<string, string>;
  /** The GIT_* variables set on purpose, for simple-git's environment guard. */
  allowed: string[];
  usesCredentialHelper: boolean;
  usesSshCommand: boolean;
}

/** Variables the credential helper reads; they are not git's, so git passes them on to the helper. */
export const usernameVariable = 'PODKIT_GIT_USERNAME';
export const passwordVariable = 'PODKIT_GIT_PASSWORD';

const credentialHelper = `!f() { test "$1" = get || exit 0; printf 'username=%s\\npassword=%s\\n' "$${usernameVariable}" "$${passwordVariable}"; }; f`;

/** A private CA for an https remote is the one git setting users commonly pass by environment. */
const passedGitVariables = new Set(['GIT_SSL_CAINFO', 'GIT_SSL_CAPATH']);
/** Variables that make git run other programs or read other config: never inherited. */
const guarded = new Set(['EDITOR', 'VISUAL', 'PAGER', 'PREFIX', 'SSH_ASKPASS']);

function inherited(key: string): boolean {
  // podkit's own settings (some of them secrets) are nothing git or its helpers need.
  if (key.startsWith('PODKIT_')) return false;
  if (key.toUpperCase().startsWith('GIT_')) return passedGitVariables.has(key);
  return !guarded.has(key.toUpperCase());
}

export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * For a file:// remote git runs the remote side (upload-pack) itself, with the GIT_CONFIG_* variables
 * cleared, so the `safe.directory` above does not reach it, and a repository mounted into the pod that
 * belongs to another uid fails as "dubious ownership". The setting goes on upload-pack's command line.
 */
export function uploadPackArgs(transport: Transport): string[] {
  return transport === 'file' ? ['--upload-pack', "git -c safe.directory='*' upload-pack"] : [];
}

export interface GitSettings {
  /** False: symlinks in the repository are checked out as plain files holding the target (core.symlinks). */
  symlinks: boolean;
}

/** Transports a remote or submodule may use (git's protocol.<name>.allow); any other is refused. */
export const allowedProtocols: readonly [string, string][] = [
  ['http', 'always'],
  ['https', 'always'],
  ['ssh', 'always'],
  ['git', 'always'],
  // "user": --repo may be a local path or file://, a submodule (which git marks as not from the user) not.
  ['file', 'user'],
];

export function gitEnvironment(
  base: NodeJS.ProcessEnv,
  credentials: GitCredentials,
  settings: GitSettings = { symlinks: true },
): GitEnvironment {
  const env: Record<string, string> = {};
  const passed: string[] = [];
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined || !inherited(key)) continue;
    env[key] = value;
    if (key.startsWith('GIT_')) passed.push(key);
  }
  const config: [string, string][] = [
    // The volume may belong to another uid (fsGroup): git would refuse it as "dubious ownership".
    ['safe.directory', '*'],
    // A shallow repo that gc repacks under a running sync is a common source of odd failures.
    ['gc.autoDetach', 'false'],
    ['protocol.allow', 'never'],
    ...allowedProtocols.map(([name, allow]): [string, string] => [`protocol.${name}.allow`, allow]),
  ];
  if (!settings.symlinks) config.push(['core.symlinks', 'false']);
  const fixed: Record<string, string> = {
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    // English messages, so failures can be classified (auth, missing ref) and read by operators.
    LC_ALL: 'C',
  };
  let usesCredentialHelper = false;
  if (credentials.transport === 'http' && credentials.password !== undefined && credentials.origin) {
    usesCredentialHelper = true;
    // An empty helper first clears any helper from system or global config, which could store the secret.
    config.push(['credential.helper', ''], [`credential.${credentials.origin}.helper`, credentialHelper]);
    env[usernameVariable] = credentials.username ?? '';
    env[passwordVariable] = credentials.password;
  }
  let usesSshCommand = false;
  if (credentials.transport === 'ssh') {
    usesSshCommand = true;
    const parts = ['ssh', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes'];
    if (credentials.knownHostsFile)
      parts.push('-o', `UserKnownHostsFile=${shellQuote(credentials.knownHostsFile)}`);
    if (credentials.sshKeyFile)
      parts.push('-i', shellQuote(credentials.sshKeyFile), '-o', 'IdentitiesOnly=yes');
    fixed.GIT_SSH_COMMAND = parts.join(' ');
  }
  fixed.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], index) => {
    fixed[`GIT_CONFIG_KEY_${index}`] = key;
    fixed[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  Object.assign(env, fixed);
  return {
    env,
    allowed: [...passed, ...Object.keys(fixed).filter((key) => key.startsWith('GIT_'))],
    usesCredentialHelper,
    usesSshCommand,
  };
}
