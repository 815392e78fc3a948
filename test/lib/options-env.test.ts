/** Options around the parse: secrets, redaction, help and README tables, scoped env names, aliases, custom types. */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import t from 'tap';
import { envNamesOfComponents } from '../../components.js';
import { commonOptions, fullSpec } from '../../lib/component.js';
import { createLogger } from '../../lib/log.js';
import { Expected, Rejected } from '../../lib/option-types.js';
import { knownEnvNames, opt, parseOptions, unknownEnv, unknownEnvWarnings } from '../../lib/options.js';
import { helpText, markdownTable, tableEnd, tableStart, withTable } from '../../lib/options-docs.js';
import { loggableOptions } from '../../lib/redact.js';
import { configError, dir, loadTlsProxy, parse, secretFile, spec } from './options-fixture.js';

t.test('secrets: from env or a file re-read on use, never printed', async (t) => {
  const fromEnv = parse([], { PODKIT_PASSWORD: 'hunter2' }).values.password;
  t.equal(await fromEnv.read(), 'hunter2');
  t.equal(fromEnv.origin, 'env PODKIT_PASSWORD');

  const fromFlag = parse(['--password-file', secretFile]).values.password;
  t.equal(await fromFlag.read(), 's3cret-from-file', 'trailing newline dropped');
  writeFileSync(secretFile, 'rotated\n');
  t.equal(await fromFlag.read(), 'rotated', 're-read on each use');
  t.equal(fromFlag.readSync(), 'rotated');

  const fromFileEnv = parse([], { PODKIT_PASSWORD_FILE: secretFile }).values.password;
  t.equal(await fromFileEnv.read(), 'rotated');

  t.throws(() => parse(['--password', 'x']), /unknown option --password/, 'no flag carries a secret value');

  for (const printed of [
    String(fromEnv),
    JSON.stringify({ fromEnv }),
    inspect(fromEnv),
    JSON.stringify(loggableOptions(parse([], { PODKIT_PASSWORD: 'hunter2' }).values)),
  ]) {
    t.notMatch(printed, /hunter2/, printed);
  }

  const lines: string[] = [];
  const log = createLogger('test', 'info', { write: (line: string) => lines.push(line) });
  log.info({ options: loggableOptions(parse([], { PODKIT_PASSWORD: 'hunter2' }).values) }, 'starting');
  log.info({ password: 'hunter2', headers: { authorization: 'Bearer hunter2' } }, 'raw fields');
  t.notMatch(lines.join(''), /hunter2/, 'the logger redacts secrets and credential-looking fields');
  t.match(lines.join(''), /\[redacted\]/);
});

t.test('URLs with credentials are redacted for logs', async (t) => {
  const { values } = parse(['--upstream', 'https://user:pa55@example.com/x']);
  t.equal(loggableOptions(values).upstream, 'https://user:redacted@example.com/x');
  t.equal(values.upstream.password, 'pa55', 'the value itself is intact');
});

t.test('help and README table come from the same spec', async (t) => {
  const full = { ...spec, ...commonOptions(9401) };
  const help = helpText('podkit demo: a demo', 'podkit demo [options]', full);
  t.match(help, /--listen <host:port>\s+Listen\. \(default 0\.0\.0\.0:8443; env PODKIT_LISTEN\)/);
  t.match(help, /--password-file <path>\s+Password\. \(env PODKIT_PASSWORD or PODKIT_PASSWORD_FILE\)/);
  t.match(help, /--admin-address <host:port>[\s\S]*0\.0\.0\.0:9401/);

  const table = markdownTable(full);
  t.match(table, /^\| Flag \| Env \| Type \| Default \| Description \|$/m);
  t.match(table, /^\| `--mode` \| `PODKIT_MODE` \| l7\\\|l4 \| `l7` \| Mode\. \|$/m);
  t.match(
    table,
    /^\| `--password-file` \| `PODKIT_PASSWORD` or `PODKIT_PASSWORD_FILE` \| secret \| {2}\| Password\. \|$/m,
  );

  const readme = `# x\n\n${tableStart}\nstale\n${tableEnd}\n\nmore\n`;
  const updated = withTable(readme, full);
  t.equal(updated, `# x\n\n${tableStart}\n${table}\n${tableEnd}\n\nmore\n`);
  t.equal(withTable(updated, full), updated, 'idempotent');
  t.throws(() => withTable('# no markers', full), /lacks the markers/);
});

// Component-scoped names: one ConfigMap for a whole pod (envFrom) configures each container apart.

const scoped = (argv: string[], env: NodeJS.ProcessEnv) =>
  parseOptions(spec, argv, env, { component: 'tls-proxy' });

t.test('precedence: flag > scoped env > plain env > default', async (t) => {
  const table: [string, string[], NodeJS.ProcessEnv, number][] = [
    ['default', [], {}, 3],
    ['plain env', [], { PODKIT_COUNT: '4' }, 4],
    ['scoped env', [], { PODKIT_TLS_PROXY_COUNT: '5' }, 5],
    ['scoped beats plain', [], { PODKIT_COUNT: '4', PODKIT_TLS_PROXY_COUNT: '5' }, 5],
    ['flag beats both', ['--count', '6'], { PODKIT_COUNT: '4', PODKIT_TLS_PROXY_COUNT: '5' }, 6],
    ["another component's scoped name is not ours", [], { PODKIT_MYSQL_BROKER_COUNT: '7' }, 3],
  ];
  for (const [what, argv, env, count] of table) t.equal(scoped(argv, env).values.count, count, what);
  t.same(
    [...scoped(['--verbose'], { PODKIT_TLS_PROXY_COUNT: '5', PODKIT_MODE: 'l4' }).given].sort(),
    ['count', 'mode', 'verbose'],
    'given: what a user set, not defaults',
  );
});

t.test('errors name the variable a value came from', async (t) => {
  const table: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [[], { PODKIT_TLS_PROXY_COUNT: '0' }, /^invalid --count "0" \(from env PODKIT_TLS_PROXY_COUNT\)/],
    [[], { PODKIT_COUNT: 'x', PODKIT_TLS_PROXY_COUNT: '0' }, /"0" \(from env PODKIT_TLS_PROXY_COUNT\)/],
    [[], { PODKIT_COUNT: '0' }, /^invalid --count "0" \(from env PODKIT_COUNT\)/],
    [['--count', '0'], { PODKIT_TLS_PROXY_COUNT: '2' }, /^invalid --count "0": expected/],
    [
      [],
      { PODKIT_TLS_PROXY_PASSWORD_FILE: join(dir, 'nope') },
      /^invalid --password-file ".*nope" \(from env PODKIT_TLS_PROXY_PASSWORD_FILE\)/,
    ],
  ];
  for (const [argv, env, pattern] of table) t.match(configError(() => scoped(argv, env)).message, pattern);
  const required = { target: opt.file({ required: true, description: 'Where.' }) };
  t.match(
    configError(() => parseOptions(required, [], {}, { component: 'git-pull' })).message,
    /^missing --target: set --target or PODKIT_TARGET \(or PODKIT_GIT_PULL_TARGET\)/,
  );
});

t.test('secrets: scoped value, scoped file, then the plain ones', async (t) => {
  const scopedFile = join(dir, 'scoped-password');
  const plainFile = join(dir, 'plain-password');
  writeFileSync(scopedFile, 'scoped-file\n');
  writeFileSync(plainFile, 'plain-file\n');
  const all = {
    PODKIT_TLS_PROXY_PASSWORD: 'scoped-value',
    PODKIT_TLS_PROXY_PASSWORD_FILE: scopedFile,
    PODKIT_PASSWORD: 'plain-value',
    PODKIT_PASSWORD_FILE: plainFile,
  };
  const without = (...names: (keyof typeof all)[]) =>
    Object.fromEntries(Object.entries(all).filter(([name]) => !names.includes(name as keyof typeof all)));
  const table: [string, NodeJS.ProcessEnv, string, string][] = [
    ['scoped value first', all, 'scoped-value', 'env PODKIT_TLS_PROXY_PASSWORD'],
    ['then the scoped file', without('PODKIT_TLS_PROXY_PASSWORD'), 'scoped-file', `file ${scopedFile}`],
    [
      'then the plain value',
      without('PODKIT_TLS_PROXY_PASSWORD', 'PODKIT_TLS_PROXY_PASSWORD_FILE'),
      'plain-value',
      'env PODKIT_PASSWORD',
    ],
    [
      'then the plain file',
      without('PODKIT_TLS_PROXY_PASSWORD', 'PODKIT_TLS_PROXY_PASSWORD_FILE', 'PODKIT_PASSWORD'),
      'plain-file',
      `file ${plainFile}`,
    ],
  ];
  for (const [what, env, value, origin] of table) {
    const secret = scoped([], env).values.password;
    t.equal(await secret.read(), value, what);
    t.equal(secret.origin, origin, what);
  }
  const flagged = scoped(['--password-file', secretFile], all).values.password;
  t.equal(flagged.origin, `file ${secretFile}`, 'the flag beats every variable');
});

t.test('aliases: old flags and variables still work, with a warning naming the new spelling', async (t) => {
  const renamed = {
    webhookUrl: opt.url({ aliases: ['reload-url'], description: 'Where to call.' }),
    quiet: opt.bool({ aliases: ['silent'], description: 'Say less.' }),
    token: opt.secret({ aliases: ['reload-token'], description: 'Token.' }),
  };
  const run = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
    parseOptions(renamed, argv, env, { component: 'config-sync' });
  const table: [string, string[], NodeJS.ProcessEnv, string, string[]][] = [
    ['new flag', ['--webhook-url', 'http://a/'], {}, 'http://a/', []],
    [
      'old flag',
      ['--reload-url', 'http://b/'],
      {},
      'http://b/',
      ['--reload-url is deprecated: use --webhook-url'],
    ],
    [
      'old plain variable',
      [],
      { PODKIT_RELOAD_URL: 'http://c/' },
      'http://c/',
      ['PODKIT_RELOAD_URL is deprecated: use PODKIT_WEBHOOK_URL'],
    ],
    [
      'old scoped variable',
      [],
      { PODKIT_CONFIG_SYNC_RELOAD_URL: 'http://d/' },
      'http://d/',
      ['PODKIT_CONFIG_SYNC_RELOAD_URL is deprecated: use PODKIT_CONFIG_SYNC_WEBHOOK_URL'],
    ],
    [
      'the new spelling wins within a scope',
      [],
      { PODKIT_WEBHOOK_URL: 'http://new/', PODKIT_RELOAD_URL: 'http://old/' },
      'http://new/',
      ['PODKIT_RELOAD_URL is deprecated: use PODKIT_WEBHOOK_URL'],
    ],
    [
      'scope matters more than spelling',
      [],
      { PODKIT_WEBHOOK_URL: 'http://plain/', PODKIT_CONFIG_SYNC_RELOAD_URL: 'http://scoped-old/' },
      'http://scoped-old/',
      ['PODKIT_CONFIG_SYNC_RELOAD_URL is deprecated: use PODKIT_CONFIG_SYNC_WEBHOOK_URL'],
    ],
  ];
  for (const [what, argv, env, url, warnings] of table) {
    const parsed = run(argv, env);
    t.equal(parsed.values.webhookUrl?.href, url, what);
    t.same(parsed.warnings, warnings, what);
  }
  t.equal(run(['--silent']).values.quiet, true, 'an old boolean flag');
  t.equal(run(['--quiet', '--no-silent']).values.quiet, false, 'and its --no- form');
  t.same(run(['--no-silent']).warnings, ['--no-silent is deprecated: use --no-quiet']);
  const token = run([], { PODKIT_RELOAD_TOKEN: 'old-secret' });
  t.equal(await token.values.token.read(), 'old-secret', 'an old secret variable');
  t.same(token.warnings, ['PODKIT_RELOAD_TOKEN is deprecated: use PODKIT_TOKEN']);
  t.match(
    configError(() => run(['--reload-url', 'not a url'])).message,
    /^invalid --reload-url "not a url": expected/,
    'an error names the spelling typed',
  );
  t.same(
    unknownEnv(renamed, { PODKIT_RELOAD_URL: 'x', PODKIT_CONFIG_SYNC_RELOAD_URL: 'x' }, 'config-sync'),
    [],
  );

  const help = helpText('podkit x: y', 'podkit x', renamed, 'config-sync').replace(/\n {20,}/g, ' ');
  t.match(
    help,
    /--webhook-url <url>\s+Where to call\. \(env PODKIT_CONFIG_SYNC_WEBHOOK_URL or PODKIT_WEBHOOK_URL; deprecated spelling: --reload-url \(env PODKIT_CONFIG_SYNC_RELOAD_URL or PODKIT_RELOAD_URL\)\)/,
  );
  const table2 = markdownTable(renamed, 'config-sync');
  t.match(table2, /Old spellings, still accepted with a deprecation warning:/);
  t.match(
    table2,
    /^- `--reload-url` \(`PODKIT_CONFIG_SYNC_RELOAD_URL` or `PODKIT_RELOAD_URL`\): now `--webhook-url`$/m,
  );
  t.match(table2, /^- `--reload-token-file` \(`PODKIT_CONFIG_SYNC_RELOAD_TOKEN`, .*\): now `--token-file`$/m);
});

t.test('opt.custom: parsed once into its value; refusals quote the value, or hide it', async (t) => {
  class Target {
    constructor(readonly host: string) {}
  }
  const custom = {
    target: opt.custom(
      (raw) => {
        if (raw.includes('@')) throw new Rejected('must not carry credentials');
        if (!/^[a-z.]+$/.test(raw)) throw new Expected('a host name');
        return new Target(raw);
      },
      { placeholder: '<host>', typeName: 'host', description: 'A target.' },
    ),
    level: opt.custom((raw) => raw.toUpperCase(), {
      default: 'low',
      placeholder: '<level>',
      description: 'Level.',
    }),
  };
  const run = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
    parseOptions(custom, argv, env, { component: 'db-health' });
  const { values } = run(['--target', 'db.example']);
  t.ok(values.target instanceof Target);
  t.equal(values.target?.host, 'db.example');
  t.equal(values.level, 'LOW', 'the default goes through the parser');
  t.equal(run([]).values.target, undefined);
  t.match(
    configError(() => run(['--target', 'a b'])).message,
    /^invalid --target "a b": expected a host name$/,
  );
  const hidden = configError(() => run([], { PODKIT_DB_HEALTH_TARGET: 'user:hunter2@db' })).message;
  t.equal(hidden, '--target (from env PODKIT_DB_HEALTH_TARGET) must not carry credentials');
  t.match(
    helpText('x', 'x', custom, 'db-health'),
    /--target <host>\s+A target\. \(env PODKIT_DB_HEALTH_TARGET/,
  );
  t.match(
    markdownTable(custom, 'db-health'),
    /^\| `--target` \| `PODKIT_DB_HEALTH_TARGET` or `PODKIT_TARGET` \| host \| {2}\|/m,
  );
});

t.test('unknown variables: only those no component of this build knows are warned about', async (t) => {
  const tlsProxy = fullSpec(await loadTlsProxy());
  const elsewhere = await envNamesOfComponents('tls-proxy');
  const env: NodeJS.ProcessEnv = {
    PODKIT_TLS_PROXY_LISTEN: ':8443', // ours, scoped
    PODKIT_LOG_LEVEL: 'info', // everyone's
    PODKIT_CONFIG_SYNC_SOURCE: 'dir', // another component's scoped name
    PODKIT_TARGET_DIR: '/config', // another component's plain name
    PODKIT_GIT_PULL_PASSWORD_FILE: '/secret', // another component's scoped secret file
    PODKIT_MYSQL_BROKER_ADMIN_ADDRESS: ':9404', // another component's common option
    PODKIT_TLS_PROXY_LISTNE: ':1', // our own, mistyped
    PODKIT_CONFIG_SYNC_SOURCE_DIRR: '/x', // another's, mistyped
    PODKIT_NOTHING_AT_ALL: 'x',
  };
  const unknown = unknownEnv(tlsProxy, env, 'tls-proxy');
  t.same(unknown, [
    'PODKIT_CONFIG_SYNC_SOURCE',
    'PODKIT_CONFIG_SYNC_SOURCE_DIRR',
    'PODKIT_GIT_PULL_PASSWORD_FILE',
    'PODKIT_MYSQL_BROKER_ADMIN_ADDRESS',
    'PODKIT_NOTHING_AT_ALL',
    'PODKIT_TARGET_DIR',
    'PODKIT_TLS_PROXY_LISTNE',
  ]);
  t.same(unknownEnvWarnings(unknown, [...knownEnvNames(tlsProxy, 'tls-proxy'), ...elsewhere]), [
    'unknown environment variable PODKIT_CONFIG_SYNC_SOURCE_DIRR (did you mean PODKIT_CONFIG_SYNC_SOURCE_DIR?): ignored',
    'unknown environment variable PODKIT_NOTHING_AT_ALL: ignored',
    'unknown environment variable PODKIT_TLS_PROXY_LISTNE (did you mean PODKIT_TLS_PROXY_LISTEN?): ignored',
  ]);
  t.same(unknownEnv(tlsProxy, { PODKIT_TLS_PROXY_LISTEN: ':1', PODKIT_LISTEN: ':2' }, 'tls-proxy'), []);
});

t.test('help and README table show the scoped names first', async (t) => {
  const full = { ...spec, ...commonOptions(9401) };
  // One line per option, to match across the wrapping.
  const help = helpText('podkit tls-proxy: x', 'podkit tls-proxy [options]', full, 'tls-proxy').replace(
    /\n {20,}/g,
    ' ',
  );
  t.match(help, /^Options \(flag > PODKIT_TLS_PROXY_<OPTION> > PODKIT_<OPTION> > default\):$/m);
  t.match(
    help,
    /--listen <host:port>\s+Listen\. \(default 0\.0\.0\.0:8443; env PODKIT_TLS_PROXY_LISTEN or PODKIT_LISTEN\)/,
  );
  t.match(
    help,
    /--password-file <path>\s+Password\. \(env PODKIT_TLS_PROXY_PASSWORD, PODKIT_TLS_PROXY_PASSWORD_FILE, PODKIT_PASSWORD or PODKIT_PASSWORD_FILE\)/,
  );
  const table = markdownTable(full, 'tls-proxy');
  t.match(
    table,
    /^\| `--listen` \| `PODKIT_TLS_PROXY_LISTEN` or `PODKIT_LISTEN` \| host:port \| `0\.0\.0\.0:8443` \|/m,
  );
  t.match(table, /^\| `--admin-address` \| `PODKIT_TLS_PROXY_ADMIN_ADDRESS` or `PODKIT_ADMIN_ADDRESS` \|/m);
});
