/**
 * Records that span lines, from real samples (test/samples/): log4j/logback/Spring Boot with a stack
 * trace and its cause, Python tracebacks with chained exceptions, Go panics with goroutine stacks; each
 * is one record. Read with --format auto, in-process, "now" fixed at 2024-06-15T12:00:00Z.
 */

import t from 'tap';
import { normalize, sample } from './helpers.js';

const now = '2024-06-15T12:00:00.000Z';
const source = 'test.log';

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
