/**
 * What --repo names, taken apart once: the address git is given (never with a password in it), the
 * transport (which decides which credentials apply), the credentials a user wrote into the URL, and
 * the repository's name (the default --link). Pure, so every form git accepts is table-tested.
 */

import { Expected } from '../../../lib/option-types.js';

export type Transport = 'http' | 'ssh' | 'git' | 'file';

export interface RepoAddress {
  /** What git is given: the user name and password removed from http(s) URLs. */
  readonly url: string;
  readonly transport: Transport;
  /**
   * A user name written in the URL (http userinfo, ssh user). In an http(s) URL without a password it
   * is often a token (`https://TOKEN@host/repo`), so it is treated as a secret there: used through the
   * credential helper, never passed to git, shown as `redacted`.
   */
  readonly username?: string;
  /** A password written in an http(s) URL: used through the credential helper, never passed to git. */
  readonly password?: string;
  /** `scheme://host[:port]` of an http(s) remote, so credentials are offered to that host only. */
  readonly origin?: string;
  /** Safe to log. */
  readonly display: string;
  /** The last path segment without `.git`: the default link name. */
  readonly name: string;
  /** Logs and JSON show the address without its password. */
  toJSON(): string;
  toString(): string;
}

const schemeTransport: Record<string, Transport> = {
  'http:': 'http',
  'https:': 'http',
  'ssh:': 'ssh',
  'git+ssh:': 'ssh',
  'ssh+git:': 'ssh',
  'git:': 'git',
  'file:': 'file',
};

const expectation =
  'a git URL (https://host/repo.git, ssh://user@host/repo.git, user@host:repo.git, git://host/repo, file:///path or /path)';

/** scp-like syntax: `[user@]host:path`, with no slash before the first colon (git's own rule). */
const scpLike = /^(?:([^@/\s]+)@)?([^-:/\s][^:/\s]*):(?!\/\/)(\S+)$/;

type Fields = Omit<RepoAddress, 'toJSON' | 'toString'>;

/** Parses --repo; throws `Expected` (whose text never quotes the value) when git could not use it. */
export function parseRepo(raw: string): RepoAddress {
  const checked = checkRepo(raw);
  if (checked instanceof Expected) throw checked;
  return checked;
}

/** --repo taken apart, or the error that says why git must not be given it; never throws. */
export function checkRepo(raw: string): RepoAddress | Expected {
  try {
    const fields = parseFields(raw);
    return { ...fields, toJSON: () => fields.display, toString: () => fields.display };
  } catch (err) {
    // A malformed %-escape in the user name or password (URIError) is a bad URL like any other.
    return err instanceof Expected ? err : new Expected(expectation);
  }
}

function parseFields(raw: string): Fields {
  const text = raw.trim();
  // A leading dash would be read as an option by git or ssh; control characters have no place in a URL.
  if (text === '' || /[\s\p{Cc}]/u.test(text) || text.startsWith('-')) throw new Expected(expectation);
  // `<transport>::<address>` makes git run a remote helper (ext:: runs any command): never.
  if (text.includes('::')) throw new Expected(expectation);
  if (text.startsWith('/') || text.startsWith('./') || text.startsWith('../')) {
    return { url: text, transport: 'file', display: text, name: repoName(text) };
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const scp = scpLike.exec(text);
    if (!scp) throw new Expected(expectation);
    return {
      url: text,
      transport: 'ssh',
      display: text,
      name: repoName(scp[3] as string),
      ...(scp[1] ? { username: scp[1] } : {}),
    };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Expected(expectation);
  }
  const transport = schemeTransport[url.protocol];
  if (!transport) throw new Expected(expectation);
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const name = repoName(url.pathname);
  if (transport !== 'http') {
    // Kept (never shown) so the cross-option check can refuse it without quoting it.
    const display = password ? text.replace(/:[^:@/]*@/, ':redacted@') : text;
    return {
      url: text,
      transport,
      display,
      name,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
    };
  }
  const bare = new URL(url.toString());
  bare.username = '';
  bare.password = '';
  const display = new URL(bare.toString());
  // `user:password@` shows the user; a user name alone may be the token itself.
  if (password) {
    display.username = url.username;
    display.password = 'redacted';
  } else if (username) {
    display.username = 'redacted';
  }
  return {
    url: bare.toString(),
    transport,
    display: display.toString(),
    origin: url.origin,
    name,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

function repoName(path: string): string {
  const last = path.replace(/\/+$/, '').split(/[/:]/).at(-1) ?? '';
  return last.replace(/\.git$/, '') || 'repo';
}

/**
 * Removes credentials from text that may quote a URL or a secret (git's error output, our messages):
 * `scheme://user:password@` keeps the user, loses the password, and every known secret value is cut.
 */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi, '$1$2:redacted@');
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join('[redacted]');
  }
  return out;
}
