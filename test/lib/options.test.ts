import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import t from 'tap';
import { envNamesOfComponents, loadComponent } from '../../components.js';
import { commonOptions, fullSpec } from '../../lib/component.js';
import { ConfigError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { Expected, parseByteSize, parseDuration, parseHostPort, Rejected } from '../../lib/option-types.js';
import {
  envName,
  flagName,
  knownEnvNames,
  opt,
  parseOptions,
  unknownEnv,
  unknownEnvWarnings,
} from '../../lib/options.js';
import { helpText, markdownTable, tableEnd, tableStart, withTable } from '../../lib/options-docs.js';
import { loggableOptions } from '../../lib/redact.js';

const dir = mkdtempSync(join(tmpdir(), 'podkit-options-'));
const existing = join(dir, 'cert.pem');
writeFileSync(existing, 'CERT');
const secretFile = join(dir, 'password');
writeFileSync(secretFile, 's3cret-from-file\n');

const spec = {
  name: opt.string({ description: 'A name.' }),
  count: opt.int({ default: 3, min: 1, max: 10, description: 'How many.' }),
  ratio: opt.number({ default: 0.5, min: 0, max: 1, description: 'A fraction.' }),
  timeout: opt.duration({ default: '10s', description: 'How long.' }),
  verbose: opt.bool({ description: 'Talk more.' }),
  mode: opt.enum(['l7', 'l4'], { default: 'l7', description: 'Mode.' }),
  backends: opt.list({ item: parseHostPort, itemName: 'host:port', description: 'Backends.' }),
  listen: opt.hostPort({ default: '0.0.0.0:8443', description: 'Listen.' }),
  upstream: opt.url({
    default: 'http://127.0.0.1:8080',
    protocols: ['http', 'https'],
    description: 'Upstream.',
  }),
  certFile: opt.file({ mustExist: true, description: 'Cert.' }),
  password: opt.secret({ description: 'Password.' }),
};

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseOptions(spec, argv, env);
const loadTlsProxy = () => loadComponent('tls-proxy');

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('names: camelCase keys become kebab flags and PODKIT_ env names', async (t) => {
  t.equal(flagName('upstreamTimeout'), 'upstream-timeout');
  t.equal(envName('upstreamTimeout'), 'PODKIT_UPSTREAM_TIMEOUT');
  t.equal(envName('certFile'), 'PODKIT_CERT_FILE');
});

t.test('defaults when nothing is given', async (t) => {
  const { values, warnings } = parse([]);
  t.equal(values.name, undefined);
  t.equal(values.count, 3);
  t.equal(values.ratio, 0.5);
  t.equal(values.timeout, 10_000);
  t.equal(values.verbose, false);
  t.equal(values.mode, 'l7');
  t.same(values.backends, []);
  t.equal(String(values.listen), '0.0.0.0:8443');
  t.equal(values.upstream.href, 'http://127.0.0.1:8080/');
  t.equal(values.certFile, undefined);
  t.equal(values.password.isSet, false);
  t.same(warnings, []);
});

t.test('precedence: flag > env > default', async (t) => {
  t.equal(parse([], { PODKIT_COUNT: '5' }).values.count, 5);
  t.equal(parse(['--count', '7'], { PODKIT_COUNT: '5' }).values.count, 7);
  t.equal(parse(['--count=8'], { PODKIT_COUNT: '5' }).values.count, 8);
  t.equal(parse(['--mode', 'l4'], { PODKIT_MODE: 'l7' }).values.mode, 'l4');
  t.equal(parse([], { PODKIT_VERBOSE: 'yes' }).values.verbose, true);
  t.equal(parse(['--no-verbose'], { PODKIT_VERBOSE: 'true' }).values.verbose, false);
  t.equal(parse(['--verbose=false'], { PODKIT_VERBOSE: 'true' }).values.verbose, false);
  t.equal(parse(['--verbose']).values.verbose, true);
  t.equal(
    parse(['--count', '4', '--count', '6']).values.count,
    6,
    'a repeated scalar flag keeps the last value',
  );
});

t.test('every type parses what users type', async (t) => {
  const { values } = parse(
    [
      '--name',
      'x y',
      '--ratio',
      '0.25',
      '--timeout',
      '1m30s',
      '--backends',
      'db1:3306, db2:3306',
      '--backends=[::1]:3307',
      '--listen',
      ':9000',
      '--upstream',
      'https://example.com:8443/base',
      '--cert-file',
      existing,
    ],
    {},
  );
  t.equal(values.name, 'x y');
  t.equal(values.ratio, 0.25);
  t.equal(values.timeout, 90_000);
  t.same(
    values.backends.map((b) => [b.host, b.port]),
    [
      ['db1', 3306],
      ['db2', 3306],
      ['::1', 3307],
    ],
    'lists: comma-separated and repeated flags add up',
  );
  t.equal(String(values.backends[2]), '[::1]:3307');
  t.same([values.listen.host, values.listen.port], ['0.0.0.0', 9000]);
  t.equal(values.upstream.port, '8443');
  t.equal(values.certFile, existing);
});

t.test('durations', async (t) => {
  const table: [string, number][] = [
    ['0', 0],
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['250us', 0.25],
  ];
  for (const [text, ms] of table) t.equal(parseDuration(text), ms, text);
  for (const bad of ['10', 's', '1x', '-1s', '1 s', '']) t.throws(() => parseDuration(bad), bad);
});

t.test('sizes in bytes', async (t) => {
  const table: [string, number][] = [
    ['0', 0],
    ['1048576', 1_048_576],
    ['512KiB', 524_288],
    ['1MiB', 1_048_576],
    ['64Ki', 65_536],
    ['10MB', 10_000_000],
    ['1.5k', 1500],
    ['2 GiB', 2 * 1024 ** 3],
    ['1mib', 1_048_576],
    ['512k', 512_000],
  ];
  for (const [text, bytes] of table) t.equal(parseByteSize(text), bytes, text);
  for (const bad of ['', 'MiB', '-1', '1XB', '1 MiB extra', 'lots', '1e6'])
    t.throws(() => parseByteSize(bad), bad);
  t.throws(() => parseByteSize('2MiB', 0, 1024 ** 2), /at most 1048576/);
  t.throws(() => parseByteSize('10', 1024), /at least 1024/);
  const sized = { size: opt.bytes({ default: '1MiB', max: 1024 ** 3, description: 'x' }) };
  t.equal(parseOptions(sized, ['--size', '256KiB'], {}).values.size, 262_144);
  t.equal(parseOptions(sized, [], {}).values.size, 1_048_576, 'the default goes through the same parser');
  t.match(
    configError(() => parseOptions(sized, ['--size', '2GiB'], {})).message,
    /--size "2GiB".*at most 1073741824/,
  );
});

t.test('bad values: exit-2 errors that name the option, the value and the expectation', async (t) => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--count', 'many'], {}, /^invalid --count "many": expected an integer from 1 to 10$/],
    [['--count', '11'], {}, /--count "11": expected an integer from 1 to 10/],
    [[], { PODKIT_COUNT: '0' }, /--count "0" \(from env PODKIT_COUNT\): expected an integer from 1 to 10/],
    [['--ratio', '2'], {}, /--ratio "2": expected a number from 0 to 1/],
    [['--timeout', '10'], {}, /--timeout "10": expected a duration like 500ms, 10s/],
    [['--verbose=maybe'], {}, /--verbose "maybe": expected true or false/],
    [['--mode', 'l5'], {}, /--mode "l5": expected one of l7, l4/],
    [
      ['--backends', 'db1:3306,db2'],
      {},
      /--backends "db1:3306,db2": expected a comma-separated list of host:port.*bad item "db2"/,
    ],
    [['--listen', 'localhost'], {}, /--listen "localhost": expected host:port/],
    [['--listen', '1.2.3.4:70000'], {}, /expected a port from 0 to 65535/],
    [
      ['--upstream', 'ftp://x'],
      {},
      /--upstream "ftp:\/\/x": expected a URL starting with http:\/\/ or https:\/\//,
    ],
    [['--upstream', 'not a url'], {}, /expected a URL/],
    [
      ['--cert-file', join(dir, 'missing.pem')],
      {},
      /--cert-file ".*missing.pem": expected a readable file \(no such file\)/,
    ],
    [['--cert-file', dir], {}, /expected a file, not a directory/],
    [['--password-file', join(dir, 'nope')], {}, /--password-file ".*nope": expected a readable file/],
    [['--lisen', 'x:1'], {}, /^unknown option --lisen \(did you mean --listen\?\)$/],
    [['--listen'], {}, /--listen needs a value: <host:port>/],
    [['--listen', '--count', '3'], {}, /--listen needs a value/],
    [['stray'], {}, /unexpected argument "stray"/],
  ];
  for (const [argv, env, pattern] of cases) {
    const err = configError(() => parse(argv, env));
    t.match(err.message, pattern, argv.join(' ') || JSON.stringify(env));
    t.equal(err.code, 'PODKIT_ERR_CONFIG');
    t.notMatch(err.message, /\n/, 'one line');
  }
});

t.test('required options', async (t) => {
  const required = { target: opt.file({ required: true, description: 'Where.' }) };
  const err = configError(() => parseOptions(required, [], {}));
  t.match(err.message, /missing --target: set --target or PODKIT_TARGET/);
  t.equal(parseOptions(required, [], { PODKIT_TARGET: '/x' }).values.target, '/x');
});

t.test('unknown PODKIT_ env vars are warned with the nearest known name', async (t) => {
  const env = {
    PODKIT_COUNTT: '3',
    PODKIT_SOMETHING_ELSE: 'x',
    PODKIT_TEST_MYSQL_URL: 'ignored: test settings',
    HOME: '/root',
  };
  t.same(parse([], env).warnings, [], 'parsing itself warns only about deprecations');
  const warnings = unknownEnvWarnings(unknownEnv(spec, env), knownEnvNames(spec));
  t.same(warnings, [
    'unknown environment variable PODKIT_COUNTT (did you mean PODKIT_COUNT?): ignored',
    'unknown environment variable PODKIT_SOMETHING_ELSE: ignored',
  ]);
});

t.test('deprecated options warn when used', async (t) => {
  const old = { oldName: opt.string({ description: 'Old.', deprecated: 'use --new-name' }) };
  t.same(parseOptions(old, ['--old-name', 'x'], {}).warnings, ['--old-name is deprecated: use --new-name']);
  t.same(parseOptions(old, [], {}).warnings, []);
});

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
