/**
 * The pure parts, table-driven: levels, timestamps, escaping of bytes that are not text, line splitting
 * and its limits, the JSON fast path against the general path, multi-line rules, batching, globs and
 * option values.
 */

import { PassThrough } from 'node:stream';
import t from 'tap';
import { Expected } from '../../../lib/option-types.js';
import { levelOfFile } from '../src/level-files.js';
import { levelFromName, levelFromNumber } from '../src/levels.js';
import { parseMultiline } from '../src/multiline.js';
import {
  parseAddField,
  parseLevelRule,
  parsePattern,
  parseTimeZoneOption,
  segmentPattern,
} from '../src/option-values.js';
import { Output } from '../src/output.js';
import { compileGlob } from '../src/tail/glob.js';
import { decodeText } from '../src/text.js';
import { isCanonicalUtc, isoFromEpoch, isoFromMs, scanIso, timeFromValue } from '../src/time.js';
import { TimeZone } from '../src/time-zone.js';
import { normalize } from './helpers.js';

const utc = { zone: new TimeZone('UTC'), now: () => Date.parse('2024-06-15T12:00:00Z') };
const now = '2024-06-15T12:00:00.000Z';

t.test('levels: names in any case, syslog severities, pino/bunyan numbers', async (t) => {
  const names: [string, string | undefined][] = [
    ['trace', 'trace'],
    ['FINEST', 'trace'],
    ['Debug', 'debug'],
    ['dbg', 'debug'],
    ['CONFIG', 'debug'],
    ['info', 'info'],
    ['INFORMATION', 'info'],
    ['notice', 'info'],
    ['I', 'info'],
    ['WARNING', 'warn'],
    ['Warn', 'warn'],
    ['W', 'warn'],
    ['err', 'error'],
    ['SEVERE', 'error'],
    ['E', 'error'],
    ['CRITICAL', 'fatal'],
    ['emerg', 'fatal'],
    ['dpanic', 'fatal'],
    ['F', 'fatal'],
    [' wArNiNg ', 'warn'],
    ['verbose', 'trace'],
    ['chatty', undefined],
    ['', undefined],
  ];
  for (const [name, level] of names) t.equal(levelFromName(name), level, JSON.stringify(name));
  const numbers: [number, string | undefined][] = [
    [10, 'trace'],
    [20, 'debug'],
    [30, 'info'],
    [35, 'info'],
    [40, 'warn'],
    [50, 'error'],
    [60, 'fatal'],
    [70, 'fatal'],
    [0, 'fatal'],
    [3, 'error'],
    [4, 'warn'],
    [6, 'info'],
    [7, 'debug'],
    [8.5, undefined],
    [-1, undefined],
  ];
  for (const [value, level] of numbers) t.equal(levelFromNumber(value), level, String(value));
});

t.test('timestamps into UTC ISO 8601', async (t) => {
  const values: [unknown, string | undefined][] = [
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T10:00:00.5Z', '2024-05-01T10:00:00.500Z'],
    ['2024-05-01T10:00:00.123456789Z', '2024-05-01T10:00:00.123456789Z'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T12:00:00+0200', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T07:30:00-02:30', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01 10:00:00,123', '2024-05-01T10:00:00.123Z'],
    ['2024-05-01 10:00', '2024-05-01T10:00:00.000Z'],
    ['2024/05/01 10:00:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01 10:00:00 UTC', '2024-05-01T10:00:00.000Z'],
    ['01/May/2024:12:00:00 +0200', '2024-05-01T10:00:00.000Z'],
    ['Wed, 01 May 2024 10:00:00 GMT', '2024-05-01T10:00:00.000Z'],
    [1714557600, '2024-05-01T10:00:00.000Z'],
    [1714557600.25, '2024-05-01T10:00:00.250Z'],
    [1714557600123, '2024-05-01T10:00:00.123Z'],
    [1714557600123456, '2024-05-01T10:00:00.123456Z'],
    [1714557600123456800, '2024-05-01T10:00:00.123Z'],
    ['1714557600', '2024-05-01T10:00:00.000Z'],
    ['2024-02-30T10:00:00Z', undefined],
    ['2024-05-01T25:00:00Z', undefined],
    ['yesterday', undefined],
    ['2024-05-01T10:00:00 nonsense', undefined],
    [-5, undefined],
    [true, undefined],
  ];
  for (const [value, iso] of values) t.equal(timeFromValue(value, utc), iso, JSON.stringify(value));
  t.equal(isoFromEpoch(0), '1970-01-01T00:00:00.000Z');
  t.equal(scanIso('2024-05-01T10:00:00Z rest', 0, utc)?.end, 20, 'a scan tells where the time ended');
});

t.test('the fast ISO formatter agrees with Date over days, years and leap days', async (t) => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const instants = [0, 951_782_400_000, 951_868_799_999, 1_709_164_800_000, 4_102_444_800_000];
  for (let i = 0; i < 2000; i++) instants.push(Math.floor(random() * 4_102_444_800_000));
  let mismatches = 0;
  for (const ms of instants) if (isoFromMs(ms) !== new Date(ms).toISOString()) mismatches++;
  t.equal(mismatches, 0);
  const canonical = (s: string) => isCanonicalUtc(Buffer.from(s), 0, s.length);
  t.ok(canonical('2024-02-29T23:59:59.999Z'));
  t.ok(canonical('2024-05-01T10:00:00.123456Z'));
  t.notOk(canonical('2023-02-29T10:00:00.000Z'), 'not a leap year');
  t.notOk(canonical('2024-05-01T10:00:00Z'), 'no milliseconds: reformatted instead');
  t.notOk(canonical('2024-05-01T10:00:00.000+00:00'));
});

t.test('bytes that are not UTF-8 become \\xNN; valid text is untouched', async (t) => {
  const cases: [number[], string][] = [
    [[0x68, 0x69], 'hi'],
    [[0xc3, 0xa9], 'é'],
    [[0xf0, 0x9f, 0x98, 0x80], '😀'],
    [[0x61, 0xff, 0x62], 'a\\xffb'],
    [[0xc3], '\\xc3'],
    [[0xc0, 0xaf], '\\xc0\\xaf'],
    [[0xe0, 0x80, 0xaf], '\\xe0\\x80\\xaf'],
    [[0xed, 0xa0, 0x80], '\\xed\\xa0\\x80'],
    [[0xf4, 0x90, 0x80, 0x80], '\\xf4\\x90\\x80\\x80'],
    [[0xe2, 0x82], '\\xe2\\x82'],
  ];
  for (const [bytes, text] of cases) {
    const buf = Buffer.from(bytes);
    t.equal(decodeText(buf, 0, buf.length), text, Buffer.from(bytes).toString('hex'));
  }
});

t.test('lines: any chunking, CRLF, blank lines, the last line without a newline', async (t) => {
  const input = 'first\r\n\n  \nsecond line\r\nthird without newline';
  const whole = await normalize(input, { settings: { multiline: parseMultiline('none') } });
  t.same(
    whole.records.map((r) => r.msg),
    ['first', 'second line', 'third without newline'],
  );
  for (const chunks of [2, 7, input.length]) {
    const split = await normalize(input, { settings: { multiline: parseMultiline('none') }, chunks });
    t.same(split.records, whole.records, `${chunks} chunks`);
  }
  t.equal(whole.stats.lines, 5);
});

t.test('--max-line-bytes: a longer line is cut at a character boundary, marked and counted', async (t) => {
  const long = `${'é'.repeat(800)}tail`;
  const { records, stats } = await normalize(`${long}\nshort\n`, {
    settings: { maxLineBytes: 1001 },
    chunks: 5,
  });
  t.equal(records.length, 2);
  t.equal(records[0]?.msg, 'é'.repeat(500), 'cut before the character that would not fit');
  t.equal(records[0]?.truncated_bytes, Buffer.byteLength(long) - 1000);
  t.same(records[1], { time: now, level: 'info', msg: 'short', source: 'test.log' });
  t.equal(stats.truncated, 1);

  const trace = `ERROR boom\n${Array.from({ length: 50 }, (_, i) => `\tat frame${i}(File.java:${i})`).join('\n')}\nnext\n`;
  const cut = await normalize(trace, { settings: { maxLineBytes: 1024 } });
  t.equal(cut.records.length, 2, 'a multi-line record over the limit stays one record');
  t.ok(Number(cut.records[0]?.truncated_bytes) > 0);
  t.ok(String(cut.records[0]?.stack).length <= 1024);
  t.equal(cut.records[1]?.msg, 'next');
  t.equal(cut.stats.truncated, 1);
});

t.test('binary garbage and invalid UTF-8 make valid JSON lines, with nothing lost', async (t) => {
  const garbage = Buffer.from([
    0x00, 0x01, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0xff, 0xfe, 0x22, 0x5c, 0x7f, 0xc3, 0x28,
  ]);
  const input = Buffer.concat([
    garbage,
    Buffer.from('\n{"msg":"bad \xff byte"}\n'),
    Buffer.from([0x7b, 0xff, 0x7d, 0x0a]),
  ]);
  const { lines, records } = await normalize(input, { chunks: 3 });
  t.equal(lines.length, 3);
  for (const line of lines) t.ok(Buffer.from(line).toString('utf8') === line, 'each line is UTF-8');
  t.equal(records[0]?.msg, '\u0000\u0001\u001b[31m\\xff\\xfe"\\\u007f\\xc3(');
  t.equal(records[1]?.msg, 'bad ÿ byte', 'a JSON line with a Latin-1 byte decodes (as UTF-8 of ÿ)');
  t.equal(records[2]?.msg, '{\\xff}');
});

/** JSON lines through the fast path and through the general path (JSON.parse), which must agree. */
const jsonLines = [
  '{"time":"2024-05-01T10:00:00.000Z","level":"info","msg":"plain"}',
  '{"level":"warn","msg":"no time"}',
  '{"msg":"nested","a":{"b":[1,2,{"c":null}],"d":true},"e":-1.5e+3,"f":false}',
  '{ "msg" : "spaces" , "x" : [ ] , "y" : { } }',
  '{"msg":"escapes \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00"}',
  '{"msg":"unicode é 日本 😀","k":"ü"}',
  '{}',
  '{"message":"message key","severity":"ERROR","timestamp":"2024-05-01 10:00:00"}',
  '{"msg":"numeric level","level":50,"time":1714557600000}',
  '{"msg":"source collides","source":"app"}',
  '{"msg":"unknown level","level":"loud"}',
  '{"msg":{"object":"message"}}',
  '{"msg":"twice","msg":"again"}',
  '{"msg":"bad time","time":"soon"}',
  '{"msg":"escaped key","ti\\u006de":"2024-05-01T10:00:00Z"}',
  '{"msg":"deep","a":[[[[[[[[[[1]]]]]]]]]]}',
  '{"msg":"trailing comma",}',
  "{'msg':'single quotes'}",
  '{"msg":"control \u0001 char"}',
  '{"msg":"unterminated}',
  '{"msg":"number","n":01}',
  '{"msg":"nan","n":NaN}',
  '{"msg":"after"} trailing',
  '[1,2,3]',
  '{"msg":"x","n":1.}',
  '{"msg":"bad escape \\x41"}',
  '{"msg":"bad unicode \\u12G4"}',
];

t.test('the JSON fast path writes what the general path would', async (t) => {
  const input = `${jsonLines.join('\n')}\n`;
  const fast = await normalize(input, { settings: { multiline: parseMultiline('none') } });
  // regex multiline mode turns the fast path off: every line goes through JSON.parse.
  const general = await normalize(input, { settings: { multiline: parseMultiline('regex:^') } });
  t.equal(fast.records.length, jsonLines.length);
  for (let i = 0; i < jsonLines.length; i++)
    t.same(fast.records[i], general.records[i], jsonLines[i] as string);
  t.same(
    fast.records[14],
    { time: '2024-05-01T10:00:00.000Z', level: 'info', msg: 'escaped key', source: 'test.log' },
    'an escaped key is read as JSON.parse reads it',
  );
  t.same(fast.records[9], {
    time: now,
    level: 'info',
    msg: 'source collides',
    source: 'test.log',
    source_original: 'app',
  });
  t.same(fast.records[11], {
    time: now,
    level: 'info',
    msg: '',
    source: 'test.log',
    msg_original: { object: 'message' },
  });
  t.equal(fast.records[16]?.msg, '{"msg":"trailing comma",}', 'invalid JSON is text');
  // Ten lines that start like an object and are not JSON; the array is JSON, just not a record.
  t.equal(
    fast.stats.parseFailures.reduce((a, b) => a + b),
    10,
    'and counted as json parse failures',
  );
  t.equal(
    fast.lines[2],
    '{"time":"2024-06-15T12:00:00.000Z","level":"info","msg":"nested","source":"test.log","a":{"b":[1,2,{"c":null}],"d":true},"e":-1.5e+3,"f":false}',
    'values copied as written',
  );
});

t.test('static fields come last; an app field of the same name is kept as <name>_original', async (t) => {
  const extras = [['pod', 'web-7f9'] as const, ['cluster', 'eu-1'] as const];
  const { lines } = await normalize('{"msg":"a","pod":"mine"}\nplain\n', { settings: { extras } });
  t.same(lines, [
    `{"time":"${now}","level":"info","msg":"a","source":"test.log","pod_original":"mine","pod":"web-7f9","cluster":"eu-1"}`,
    `{"time":"${now}","level":"info","msg":"plain","source":"test.log","pod":"web-7f9","cluster":"eu-1"}`,
  ]);
});

t.test('multi-line modes', async (t) => {
  const text = [
    '2024-05-01 10:00:00,000 ERROR [main] failed',
    'Error: node style',
    '    at f (/app/a.js:1:1)',
    '2024-05-01 10:00:01,000 INFO [main] ok',
    'Error: not after an error line, so its own record',
    '{"msg":"json never continues"}',
    '  indented after json',
  ].join('\n');
  const auto = await normalize(text);
  t.same(
    auto.records.map((r) => [r.msg, r.stack]),
    [
      ['failed', 'Error: node style\n    at f (/app/a.js:1:1)'],
      ['ok', undefined],
      ['Error: not after an error line, so its own record', undefined],
      ['json never continues', undefined],
      ['  indented after json', undefined],
    ],
  );
  const none = await normalize(text, { settings: { multiline: parseMultiline('none') } });
  t.equal(none.records.length, 7);
  const regex = await normalize(text, { settings: { multiline: parseMultiline('regex:^\\d{4}-') } });
  t.same(
    regex.records.map((r) => r.msg),
    ['failed', 'ok'],
    'with regex: every line that does not start a record continues one',
  );
  t.equal(String(regex.records[1]?.stack).split('\n').length, 3);
});

t.test('output batches never split a record, however small', async (t) => {
  const sink = new PassThrough();
  const writes: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => writes.push(chunk));
  const output = new Output(sink, 64);
  const cursor = { committed: 0 };
  for (let i = 0; i < 20; i++) {
    output.beginRecord();
    for (const piece of ['{"n":', String(i), ',"pad":"', 'x'.repeat(i * 3), '"}\n'])
      output.writeString(piece);
    output.mark(cursor, i + 1);
  }
  await output.settled();
  t.ok(writes.length > 5, 'several writes');
  for (const write of writes) t.equal(write.at(-1), 10, 'each write ends with a whole record');
  t.equal(Buffer.concat(writes).toString().split('\n').length, 21);
  t.equal(cursor.committed, 20, 'positions committed once written');
});

t.test('globs, level by file name, and option values', async (t) => {
  const glob = compileGlob('/var/log/*/app-?.log');
  t.equal(glob.base, '/var/log');
  t.ok(glob.deep);
  t.equal(compileGlob('/var/log/app/app.log').base, '/var/log/app');
  t.ok(segmentPattern('*.log').test('error.log'));
  t.notOk(segmentPattern('*.log').test('.hidden.log'), '* skips dot files, as a shell does');
  t.ok(segmentPattern('app-[0-9].log').test('app-3.log'));
  t.notOk(segmentPattern('app-[!0-9].log').test('app-3.log'));

  t.equal(levelOfFile('/var/log/legacy/error.log', []), 'error');
  t.equal(levelOfFile('/var/log/legacy/warn.log.1', []), 'warn');
  t.equal(levelOfFile('/var/log/legacy/app.log', []), undefined);
  const rules = [parseLevelRule('*.err=error'), parseLevelRule('error.log=warning')];
  t.equal(levelOfFile('/x/db.err', rules), 'error');
  t.equal(levelOfFile('/x/error.log', rules), 'warn', 'a rule overrides the name');
  t.equal(levelOfFile('/x/error.log-20240501', rules), 'warn', 'rotated names too');

  t.same(parseAddField('pod=web-1=x'), ['pod', 'web-1=x']);
  for (const bad of ['=x', 'nokey', 'msg=x', 'source=y'])
    t.throws(() => parseAddField(bad), /^key=value/, `add-field ${bad}`);
  for (const bad of ['error.log', 'x=loud', '=error', 'dir/x.log=error'])
    t.throws(() => parseLevelRule(bad), /<file name or glob>=<level>/, `level-from-file ${bad}`);
  t.throws(() => parsePattern('(unclosed'), /a valid regular expression/);
  t.throws(() => parsePattern('^\\w+$'), /named groups/);
  t.throws(() => parseMultiline('perl'), /one of auto, java, python, go, none or regex/);
  t.throws(() => parseMultiline('regex:('), /a valid regular expression after regex:/);
  t.throws(() => parseTimeZoneOption('Mars/Olympus'), /an IANA time zone/);
  t.equal(parseTimeZoneOption('Europe/Berlin').name, 'Europe/Berlin');
  t.ok(new Expected('x') instanceof Error);
});
