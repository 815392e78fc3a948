/**
 * Structured and user-defined formats: JSON from pino, bunyan, zap and ECS (real samples in
 * test/samples/), --format regex, an explicit --format that passes other lines on as text, and times
 * without a zone read in --timezone. In-process, "now" fixed at 2024-06-15T12:00:00Z.
 */

import t from 'tap';
import { parsePattern } from '../src/option-values.js';
import { TimeZone } from '../src/time-zone.js';
import { normalize, sample } from './helpers.js';

const now = '2024-06-15T12:00:00.000Z';
const source = 'test.log';

t.test('JSON from pino, bunyan, zap and ECS; unreadable values kept under <key>_original', async (t) => {
  const { records, stats } = await normalize(sample('json.log'));
  t.same(records, [
    {
      time: '2024-05-01T10:00:00.000Z',
      level: 'info',
      msg: 'request completed',
      source,
      pid: 7,
      hostname: 'web-1',
      req: { id: 1, method: 'GET', url: '/' },
    },
    {
      time: '2024-05-01T10:00:01.234Z',
      level: 'error',
      msg: 'payment failed',
      source,
      name: 'shop',
      hostname: 'web-1',
      pid: 7,
      err: { message: 'boom', name: 'Error', stack: 'Error: boom\n    at main (/app/index.js:3:9)' },
      v: 0,
    },
    {
      time: '2024-05-01T10:00:02.500Z',
      level: 'warn',
      msg: 'slow query',
      source,
      caller: 'orders/handler.go:58',
      duration: '1.2s',
    },
    {
      time: '2024-05-01T10:00:03.000Z',
      level: 'error',
      msg: 'disk full',
      source,
      'service.name': 'shop',
      'ecs.version': '1.6.0',
    },
    {
      time: '2024-05-01T10:00:04.000Z',
      level: 'info',
      msg: 'zone-less time',
      source,
      level_original: 'custom',
    },
    {
      time: now,
      level: 'info',
      msg: 'unreadable time',
      source,
      time_original: 'yesterday',
      source_original: 'app-source',
    },
  ]);
  t.equal(stats.recordCount, 6);
});

t.test('--format regex: named groups fill the record, other groups become fields', async (t) => {
  const pattern = parsePattern(
    '^\\[(?<time>[^\\]]+)\\] (?<channel>\\w+)\\.(?<level>[A-Z]+): (?<msg>.*?)(?: (?<context>\\{.*\\}))?$',
  );
  const input = [
    '[2024-05-01 10:00:00] app.ERROR: Payment gateway timed out {"order":43}',
    '[2024-05-01 10:00:01] security.NOTICE: login ok',
    'not what the pattern describes',
  ].join('\n');
  const { records, stats } = await normalize(input, {
    settings: { format: 'regex', pattern },
    fileLevel: 'warn',
  });
  t.same(records, [
    {
      time: '2024-05-01T10:00:00.000Z',
      level: 'error',
      msg: 'Payment gateway timed out',
      source,
      channel: 'app',
      context: '{"order":43}',
    },
    { time: '2024-05-01T10:00:01.000Z', level: 'info', msg: 'login ok', source, channel: 'security' },
    { time: now, level: 'warn', msg: 'not what the pattern describes', source },
  ]);
  t.equal(
    stats.parseFailures.reduce((a, b) => a + b),
    1,
    'the line that did not match is counted',
  );
});

t.test(
  'an explicit format passes other lines on as text, with the file level, and counts them',
  async (t) => {
    const { records, stats } = await normalize('plain words\n{"not":"syslog"}\n', {
      settings: { format: 'syslog' },
      fileLevel: 'error',
    });
    t.same(records, [
      { time: now, level: 'error', msg: 'plain words', source },
      { time: now, level: 'error', msg: '{"not":"syslog"}', source },
    ]);
    t.equal(
      stats.parseFailures.reduce((a, b) => a + b),
      2,
    );
  },
);

t.test('times without a zone are read in --timezone, across daylight saving time', async (t) => {
  const berlin = { time: { zone: new TimeZone('Europe/Berlin'), now: () => Date.parse(now) } };
  const { records } = await normalize(
    [
      '2024-01-15 12:00:00,000 INFO [main] winter',
      '2024-07-15 12:00:00,000 INFO [main] summer',
      '2024-03-31 03:30:00,000 INFO [main] just after the spring change',
      '2024-07-15T12:00:00+00:00 INFO [main] an explicit offset wins',
    ].join('\n'),
    { settings: berlin },
  );
  t.same(
    records.map((r) => r.time),
    [
      '2024-01-15T11:00:00.000Z',
      '2024-07-15T10:00:00.000Z',
      '2024-03-31T01:30:00.000Z',
      '2024-07-15T12:00:00.000Z',
    ],
  );
  const newYork = { time: { zone: new TimeZone('America/New_York'), now: () => Date.parse(now) } };
  const glog = await normalize('I0615 08:00:00.000000 1 main.go:1] morning\n', { settings: newYork });
  t.equal(glog.records[0]?.time, '2024-06-15T12:00:00.000000Z');
});
