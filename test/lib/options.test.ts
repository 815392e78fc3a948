/** Parsing options: names, defaults, precedence, every type, bad and required values, unknown and deprecated names. */

import { join } from 'node:path';
import t from 'tap';
import { parseByteSize, parseDuration } from '../../lib/option-types.js';
import {
  envName,
  flagName,
  knownEnvNames,
  opt,
  parseOptions,
  unknownEnv,
  unknownEnvWarnings,
} from '../../lib/options.js';
import { configError, dir, existing, parse, spec } from './options-fixture.js';

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
