import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import t from 'tap';
import { commonOptions } from '../../lib/component.js';
import { ConfigError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import { parseDuration, parseHostPort } from '../../lib/option-types.js';
import { envName, flagName, opt, parseOptions } from '../../lib/options.js';
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
  const { warnings } = parse([], {
    PODKIT_COUNTT: '3',
    PODKIT_SOMETHING_ELSE: 'x',
    PODKIT_TEST_MYSQL_URL: 'ignored: test settings',
    HOME: '/root',
  });
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
