/**
 * Single-line text formats from real samples (test/samples/), with the exact record each line becomes:
 * nginx combined and Common Log Format, syslog RFC 3164 and 5424, glog/klog, logfmt. Read with --format
 * auto (each line decides), in-process; the years of syslog and glog lines come from "now", which these
 * tests fix at 2024-06-15T12:00:00Z.
 */

import t from 'tap';
import { normalize, sample } from './helpers.js';

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
