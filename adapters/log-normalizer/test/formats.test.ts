/**
 * Every format from real samples (test/samples/), with the exact record each line becomes: nginx
 * combined and Common Log Format, syslog RFC 3164 and 5424, glog, log4j/logback/Spring Boot with a stack
 * trace, Python logging with tracebacks, Go panics, logfmt, JSON from pino, bunyan, zap and ECS. Read
 * with --format auto (each line decides), in-process; the years of syslog and glog lines come from
 * "now", which these tests fix at 2024-06-15T12:00:00Z.
 */

import t from 'tap';
import { parsePattern } from '../src/option-values.js';
import { TimeZone } from '../src/time-zone.js';
import { normalize, sample } from './helpers.js';

const now = '2024-06-15T12:00:00.000Z';
const source = 'test.log';

t.test('nginx combined and Common Log Format', async (t) => {
  const { records } = await normalize(sample('nginx-combined.log'));
  t.same(records, [
    {
      time: '2024-05-01T10:00:00.000Z',
      level: 'info',
      msg: 'GET /index.html HTTP/1.1',
      source,
      remote_addr: '203.0.113.7',
      method: 'GET',
      path: '/index.html',
      protocol: 'HTTP/1.1',
      status: 200,
      bytes: 612,
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
    },
    {
      time: '2024-05-01T10:00:01.000Z',
      level: 'info',
      msg: 'POST /api/orders?id=42 HTTP/2.0',
      source,
      remote_addr: '198.51.100.23',
      remote_user: 'alice',
      method: 'POST',
      path: '/api/orders?id=42',
      protocol: 'HTTP/2.0',
      status: 201,
      bytes: 87,
      referer: 'https://shop.example/cart',
      user_agent: 'curl/8.5.0',
    },
    {
      time: '2024-05-01T10:00:02.000Z',
      level: 'warn',
      msg: 'GET /missing HTTP/1.1',
      source,
      remote_addr: '192.0.2.10',
      method: 'GET',
      path: '/missing',
      protocol: 'HTTP/1.1',
      status: 404,
      bytes: 153,
      referer: 'https://shop.example/',
      user_agent: 'Mozilla/5.0 (compatible; "quoted" bot/1.0)',
    },
    {
      time: '2024-05-01T10:00:03.000Z',
      level: 'error',
      msg: 'GET /api/slow HTTP/1.1',
      source,
      remote_addr: '192.0.2.11',
      method: 'GET',
      path: '/api/slow',
      protocol: 'HTTP/1.1',
      status: 504,
      bytes: 167,
      user_agent: 'kube-probe/1.29',
    },
    {
      time: '2024-05-01T10:00:04.000Z',
      level: 'warn',
      msg: '\\x16\\x03\\x01\\x00\\xF2\\x01\\x00\\x00\\xEE\\x03\\x03',
      source,
      remote_addr: '192.0.2.12',
      status: 400,
      bytes: 157,
    },
    {
      time: '2000-10-10T20:55:36.000Z',
      level: 'info',
      msg: 'GET /apache_pb.gif HTTP/1.0',
      source,
      remote_addr: '127.0.0.1',
      remote_user: 'frank',
      method: 'GET',
      path: '/apache_pb.gif',
      protocol: 'HTTP/1.0',
      status: 200,
      bytes: 2326,
    },
  ]);
  const explicit = await normalize(sample('nginx-combined.log'), { settings: { format: 'combined' } });
  t.same(explicit.records, records, '--format combined reads them the same');
  t.same(
    [...explicit.stats.records].reduce((a, b) => a + b),
    6,
  );
});

t.test('syslog RFC 3164: with and without PRI, BSD and RFC 3339 times', async (t) => {
  const { records } = await normalize(sample('syslog-3164.log'));
  t.same(records, [
    {
      time: '2023-10-11T22:14:15.000Z',
      level: 'fatal',
      msg: "'su root' failed for lonvick on /dev/pts/8",
      source,
      facility: 'auth',
      hostname: 'mymachine',
      appname: 'su',
    },
    {
      time: '2024-02-05T17:32:18.000Z',
      level: 'info',
      msg: 'Use the BFG!',
      source,
      facility: 'user',
      hostname: '10.0.0.99',
    },
    {
      time: '2024-05-01T10:00:05.000Z',
      level: 'info',
      msg: 'Accepted publickey for deploy from 192.0.2.50 port 51234 ssh2',
      source,
      hostname: 'web-1',
      appname: 'sshd',
      procid: '4242',
    },
    {
      time: '2024-05-01T08:00:06.123456Z',
      level: 'info',
      msg: '(root) CMD (run-parts /etc/cron.hourly)',
      source,
      hostname: 'web-1',
      appname: 'CRON',
      procid: '999',
    },
  ]);
  t.equal(records[0]?.time, '2023-10-11T22:14:15.000Z', "an October line read in June is last year's");
});

t.test('syslog RFC 5424: structured data, BOM, nil values, offsets', async (t) => {
  const { records } = await normalize(sample('syslog-5424.log'), { settings: { format: 'syslog' } });
  const sd = { 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' } };
  t.same(records, [
    {
      time: '2003-10-11T22:14:15.003Z',
      level: 'fatal',
      msg: "'su root' failed for lonvick on /dev/pts/8",
      source,
      facility: 'auth',
      hostname: 'mymachine.example.com',
      appname: 'su',
      msgid: 'ID47',
    },
    {
      time: '2003-08-24T12:14:15.000003Z',
      level: 'info',
      msg: "%% It's time to make the do-nuts.",
      source,
      facility: 'local4',
      hostname: '192.0.2.1',
      appname: 'myproc',
      procid: '8710',
    },
    {
      time: '2003-10-11T22:14:15.003Z',
      level: 'info',
      msg: 'An application event log entry...',
      source,
      facility: 'local4',
      hostname: 'mymachine.example.com',
      appname: 'evntslog',
      msgid: 'ID47',
      sd,
    },
    {
      time: '2003-10-11T22:14:15.003Z',
      level: 'info',
      msg: '',
      source,
      facility: 'local4',
      hostname: 'mymachine.example.com',
      appname: 'evntslog',
      msgid: 'ID47',
      sd: { ...sd, 'examplePriority@32473': { class: 'high' } },
    },
  ]);
});

t.test('glog / klog', async (t) => {
  const { records } = await normalize(sample('glog.log'));
  t.same(records, [
    {
      time: '2024-05-01T10:00:00.123456Z',
      level: 'info',
      msg: 'Version: v1.29.0',
      source,
      thread_id: 1,
      file: 'server.go',
      line: 150,
    },
    {
      time: '2024-05-01T10:00:01.000001Z',
      level: 'warn',
      msg: 'k8s.io/client-go/informers/factory.go:159: failed to list *v1.Pod: connection refused',
      source,
      thread_id: 17,
      file: 'reflector.go',
      line: 539,
    },
    {
      time: '2024-05-01T10:00:02.500000Z',
      level: 'error',
      msg: "error syncing 'default/web': deployment not found",
      source,
      thread_id: 17,
      file: 'controller.go',
      line: 114,
    },
    {
      time: '2024-05-01T10:00:03.000000Z',
      level: 'fatal',
      msg: 'cannot open database: permission denied',
      source,
      thread_id: 1,
      file: 'main.go',
      line: 42,
    },
  ]);
});

t.test('log4j, logback and Spring Boot, a stack trace with its cause as one record', async (t) => {
  const { records, stats } = await normalize(sample('log4j.log'));
  t.same(records, [
    {
      time: '2024-05-01T10:00:00.123Z',
      level: 'info',
      msg: 'Started Application in 3.2 seconds',
      source,
      logger: 'com.example.shop.Application',
      thread: 'main',
    },
    {
      time: '2024-05-01T10:00:01.456Z',
      level: 'warn',
      msg: 'Order 42 has no items',
      source,
      logger: 'c.e.shop.OrderController',
      thread: 'http-nio-8080-exec-1',
    },
    {
      time: '2024-05-01T10:00:02.789Z',
      level: 'error',
      msg: 'Cannot place order 43',
      source,
      logger: 'com.example.shop.OrderService',
      thread: 'http-nio-8080-exec-2',
      stack: [
        'java.lang.IllegalStateException: payment declined',
        '\tat com.example.shop.OrderService.place(OrderService.java:88)',
        '\tat com.example.shop.OrderController.create(OrderController.java:41)',
        '\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)',
        'Caused by: java.net.SocketTimeoutException: Read timed out',
        '\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)',
        '\t... 12 more',
      ].join('\n'),
    },
    {
      time: '2024-05-01T10:00:03.000Z',
      level: 'info',
      msg: 'Tomcat started on port(s): 8080 (http)',
      source,
      pid: 4242,
      logger: 'o.s.b.w.embedded.tomcat.TomcatWebServer',
      thread: 'main',
    },
    {
      time: '2024-06-15T10:00:04.321Z',
      level: 'debug',
      msg: 'Removed 3 stale carts',
      source,
      logger: 'com.example.shop.Cleanup',
      thread: 'scheduler-1',
    },
  ]);
  t.equal(stats.lines, 12, 'twelve lines made five records');
});

t.test('Python logging and tracebacks, chained exceptions in one record', async (t) => {
  const { records } = await normalize(sample('python.log'));
  t.same(records, [
    {
      time: '2024-05-01T10:00:00.100Z',
      level: 'info',
      msg: 'Listening on 0.0.0.0:8000',
      source,
      logger: 'shop.api',
    },
    { time: now, level: 'warn', msg: 'disk usage at 91%', source, logger: 'root' },
    {
      time: '2024-05-01T10:00:01.200Z',
      level: 'error',
      msg: 'Request failed',
      source,
      logger: 'shop.api',
      stack: [
        'Traceback (most recent call last):',
        '  File "/app/shop/api.py", line 42, in handle',
        '    order = place(request)',
        '  File "/app/shop/orders.py", line 17, in place',
        '    raise ValueError("no items")',
        'ValueError: no items',
      ].join('\n'),
    },
    {
      time: now,
      level: 'error',
      msg: 'RuntimeError: cannot boot without missing_module',
      source,
      stack: [
        'Traceback (most recent call last):',
        '  File "/app/worker.py", line 8, in <module>',
        '    import missing_module',
        "ModuleNotFoundError: No module named 'missing_module'",
        '',
        'During handling of the above exception, another exception occurred:',
        '',
        'Traceback (most recent call last):',
        '  File "/app/worker.py", line 10, in <module>',
        '    raise SystemExit(boot())',
        'RuntimeError: cannot boot without missing_module',
      ].join('\n'),
    },
    { time: '2024-05-01T10:00:02.300Z', level: 'info', msg: 'Shutting down', source, logger: 'shop.api' },
  ]);
});

t.test('a Go panic and its goroutine stacks as one record', async (t) => {
  const { records } = await normalize(sample('go-panic.log'));
  t.same(records, [
    { time: '2024-05-01T10:00:00.000Z', level: 'info', msg: 'starting worker pool size=4', source },
    {
      time: now,
      level: 'fatal',
      msg: 'panic: runtime error: index out of range [5] with length 3',
      source,
      stack: [
        'panic: runtime error: index out of range [5] with length 3',
        '',
        'goroutine 1 [running]:',
        'main.process(...)',
        '\t/app/main.go:27',
        'main.main()',
        '\t/app/main.go:12 +0x1d',
      ].join('\n'),
    },
    { time: now, level: 'info', msg: 'exit status 2', source },
  ]);
});

t.test('logfmt', async (t) => {
  const { records } = await normalize(sample('logfmt.log'));
  t.same(records, [
    {
      time: '2024-05-01T10:00:00.000Z',
      level: 'info',
      msg: 'Starting server',
      source,
      addr: ':8080',
      version: '1.4.2',
    },
    {
      time: '2024-05-01T10:00:01.500Z',
      level: 'warn',
      msg: 'config reload skipped',
      source,
      caller: 'main.go:92',
      reason: 'file unchanged',
      attempt: '2',
    },
    {
      time: '2024-05-01T10:00:02.000Z',
      level: 'error',
      msg: 'query failed: "timeout"',
      source,
      db: 'orders',
      duration: '5.001s',
      retry: true,
    },
  ]);
});

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
