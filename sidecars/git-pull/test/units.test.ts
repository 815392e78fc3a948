/**
 * The pure parts, table-driven: repository addresses, redaction, ref choice, worktree retention, the
 * environment git runs with, hook environments, and the token check.
 */

import t from 'tap';
import { gitEnvironment, shellQuote } from '../src/git-env.js';
import { hookEnvironment } from '../src/hooks.js';
import { lsRemotePatterns, missingRefMessage, pickRemoteRef, refTarget } from '../src/remote-ref.js';
import { parseRepo, redactText } from '../src/repo-url.js';
import { bearerToken, tokensMatch } from '../src/sync-endpoint.js';
import { promote, worktreesToRemove } from '../src/worktrees.js';

t.test('parseRepo: every form git takes, credentials out of the URL', async (t) => {
  const table: [string, Record<string, unknown>][] = [
    [
      'https://deploy:pa%40ss@git.example.com/team/app.git',
      {
        url: 'https://git.example.com/team/app.git',
        transport: 'http',
        username: 'deploy',
        password: 'pa@ss',
        origin: 'https://git.example.com',
        display: 'https://deploy:redacted@git.example.com/team/app.git',
        name: 'app',
      },
    ],
    [
      'https://ghp_pa%40ss@git.example.com/team/app.git',
      {
        url: 'https://git.example.com/team/app.git',
        username: 'ghp_pa@ss',
        display: 'https://redacted@git.example.com/team/app.git',
      },
    ],
    ['http://127.0.0.1:8080/app', { transport: 'http', origin: 'http://127.0.0.1:8080', name: 'app' }],
    ['ssh://git@host:2222/srv/site.git', { transport: 'ssh', username: 'git', name: 'site' }],
    [
      'git@github.com:team/site.git',
      { url: 'git@github.com:team/site.git', transport: 'ssh', username: 'git', name: 'site' },
    ],
    ['host:repo', { transport: 'ssh', name: 'repo' }],
    ['git://127.0.0.1:9418/app.git/', { transport: 'git', name: 'app' }],
    ['file:///srv/git/app.git', { transport: 'file', name: 'app' }],
    ['/srv/git/app.git', { transport: 'file', name: 'app' }],
  ];
  for (const [raw, expected] of table) {
    const address = parseRepo(raw);
    t.match(address, expected, raw);
    t.notOk(JSON.stringify(address).includes('pa@ss'), `${raw} serializes without its password`);
  }
  for (const bad of ['', 'not a url', '-oProxyCommand=evil:x', 'ftp://host/app.git', 'host']) {
    t.throws(() => parseRepo(bad), { message: /git URL/ }, JSON.stringify(bad));
  }
});

t.test('redactText: URL passwords and known secrets are cut', async (t) => {
  t.equal(
    redactText("fatal: unable to access 'https://u:hunter2@h/r.git/': 403", []),
    "fatal: unable to access 'https://u:redacted@h/r.git/': 403",
  );
  t.equal(
    redactText('token abc123 leaked twice: abc123', ['abc123', undefined, '']),
    'token [redacted] leaked twice: [redacted]',
  );
});

t.test('refs: hashes need no lookup; names resolve tag-first, peeled, like git', async (t) => {
  const hash = 'a'.repeat(40);
  t.same(refTarget(hash.toUpperCase()), { kind: 'commit', hash });
  t.same(refTarget('main'), { kind: 'name', ref: 'main' });
  t.same(lsRemotePatterns('HEAD'), ['HEAD']);
  t.same(lsRemotePatterns('v1'), ['refs/tags/v1', 'refs/tags/v1^{}', 'refs/heads/v1', 'refs/heads/v1^{}']);
  const listing = [
    `${'1'.repeat(40)}\trefs/heads/v1`,
    `${'2'.repeat(40)}\trefs/tags/v1`,
    `${'3'.repeat(40)}\trefs/tags/v1^{}`,
    `${'4'.repeat(40)}\trefs/heads/main`,
    `${'5'.repeat(40)}\trefs/remotes/origin/main`,
  ].join('\n');
  t.same(pickRemoteRef('v1', listing), {
    hash: '3'.repeat(40),
    name: 'refs/tags/v1',
    shadowed: ['refs/heads/v1'],
  });
  t.same(pickRemoteRef('main', listing), { hash: '4'.repeat(40), name: 'refs/heads/main', shadowed: [] });
  t.equal(pickRemoteRef('gone', listing), undefined);
  t.match(missingRefMessage('abc1234', 'git://h/r'), /abbreviated commit hash cannot be fetched/);
  t.notMatch(missingRefMessage('main', 'git://h/r'), /abbreviated/);
});

t.test('worktree retention: the live one and the newest `keep` others, nothing else', async (t) => {
  const recent = ['d', 'c', 'b', 'a'];
  t.same(worktreesToRemove(['a', 'b', 'c', 'd', 'junk'], recent, 1), ['a', 'b', 'junk']);
  t.same(worktreesToRemove(['a', 'b', 'c', 'd'], recent, 0), ['a', 'b', 'c']);
  t.same(worktreesToRemove(['a', 'b'], recent, 5), []);
  t.same(promote(recent, 'b'), ['b', 'd', 'c', 'a'], 'a re-published revision becomes the newest');
});

t.test(
  'git environment: credentials scoped to the origin, podkit settings dropped, ssh checked strictly',
  async (t) => {
    const base = {
      PATH: '/usr/bin',
      PODKIT_PASSWORD: 'x',
      GIT_DIR: '/elsewhere',
      GIT_SSL_CAINFO: '/ca.pem',
      EDITOR: 'vi',
    };
    const http = gitEnvironment(base, {
      transport: 'http',
      origin: 'https://git.example.com',
      username: 'deploy',
      password: 'hunter2',
    });
    t.equal(http.env.PODKIT_PASSWORD, undefined, "podkit's own variables are not passed on");
    t.equal(http.env.GIT_DIR, undefined, 'stray git variables are not inherited');
    t.equal(http.env.EDITOR, undefined);
    t.equal(http.env.GIT_SSL_CAINFO, '/ca.pem', 'a private CA is');
    t.equal(http.env.GIT_TERMINAL_PROMPT, '0');
    t.equal(http.env.GIT_CONFIG_GLOBAL, '/dev/null', "the host's global config is not read");
    t.equal(http.env.GIT_CONFIG_NOSYSTEM, '1', 'nor its system config');
    const config = Object.fromEntries(
      Array.from({ length: Number(http.env.GIT_CONFIG_COUNT) }, (_, i) => [
        http.env[`GIT_CONFIG_KEY_${i}`],
        http.env[`GIT_CONFIG_VALUE_${i}`],
      ]),
    );
    t.equal(config['credential.helper'], '', 'inherited helpers are cleared');
    t.equal(config['protocol.allow'], 'never', 'transports not listed are refused (ext::, fd::)');
    t.equal(config['protocol.file.allow'], 'user', 'file:// for --repo, never for a submodule');
    t.equal(config['core.symlinks'], undefined, 'symlinks stay links by default');
    const plain = gitEnvironment(base, { transport: 'file' }, { symlinks: false });
    t.equal(plain.env[`GIT_CONFIG_VALUE_${Number(plain.env.GIT_CONFIG_COUNT) - 1}`], 'false');
    t.equal(plain.env[`GIT_CONFIG_KEY_${Number(plain.env.GIT_CONFIG_COUNT) - 1}`], 'core.symlinks');
    t.match(config['credential.https://git.example.com.helper'], /^!f\(\)/);
    t.notOk(JSON.stringify(config).includes('hunter2'), 'the password is not in the config');
    t.equal(http.env.PODKIT_GIT_PASSWORD, 'hunter2');
    t.ok(http.usesCredentialHelper);
    t.ok(http.allowed.includes('GIT_SSL_CAINFO') && http.allowed.includes('GIT_CONFIG_COUNT'));

    const anonymous = gitEnvironment(base, { transport: 'http', origin: 'https://h' });
    t.notOk(anonymous.usesCredentialHelper);
    t.equal(anonymous.env.PODKIT_GIT_PASSWORD, undefined);

    const ssh = gitEnvironment(base, {
      transport: 'ssh',
      sshKeyFile: "/keys/it's",
      knownHostsFile: '/etc/known hosts',
    });
    t.equal(
      ssh.env.GIT_SSH_COMMAND,
      `ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile='/etc/known hosts' -i '/keys/it'\\''s' -o IdentitiesOnly=yes`,
    );
    t.equal(shellQuote("a'b"), `'a'\\''b'`);
  },
);

t.test('hook environment: the revision in, podkit settings out', async (t) => {
  const env = hookEnvironment(
    { PATH: '/bin', PODKIT_SYNC_TOKEN: 'secret' },
    { hash: 'h', ref: 'main', worktree: '/root/.worktrees/h' },
  );
  t.same(env, {
    PATH: '/bin',
    PODKIT_GIT_HASH: 'h',
    PODKIT_GIT_REF: 'main',
    PODKIT_GIT_WORKTREE: '/root/.worktrees/h',
    GITSYNC_HASH: 'h',
  });
});

t.test('POST /sync token check', async (t) => {
  t.equal(bearerToken('Bearer abc'), 'abc');
  t.equal(bearerToken('bearer   abc  '), 'abc');
  t.equal(bearerToken('Basic abc'), undefined);
  t.equal(bearerToken(undefined), undefined);
  t.ok(tokensMatch('abc', 'abc'));
  t.notOk(tokensMatch('abd', 'abc'));
  t.notOk(tokensMatch('', ''), 'an empty token never matches');
});
