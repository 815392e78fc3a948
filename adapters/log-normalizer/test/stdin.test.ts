/**
 * `--input -`: the adapter as a filter (`app | podkit log-normalizer --input -`). It reads stdin to the
 * end, writes every record (the last multi-line one too) and exits 0, without an admin server unless
 * one is asked for; a record waiting for more lines is written once the pipe goes quiet. Bad options
 * are refused before anything is read.
 */

import { spawn } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { nodeFlagsFor } from '../../../components.js';
import { httpRequest } from '../../../test/support/http.js';
import { cliPath, runPodkit, Spawned } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { collectRecords, metric, spawnFilter, tempDir } from './helpers.js';

const trace = [
  '2024-05-01 10:00:01,000 ERROR [main] c.e.App - failed',
  'java.lang.IllegalStateException: boom',
  '\tat c.e.App.main(App.java:5)',
].join('\n');

t.test('a pipe to its end: every record, the last multi-line one too, then exit 0', async (t) => {
  const filter = spawnFilter(t, ['--add-field', 'pod=web-1', '--add-field', 'team=shop']);
  const stdin = filter.process.proc.stdin as NodeJS.WritableStream;
  stdin.write('{"level":"info","msg":"json","time":"2024-05-01T10:00:00.000Z"}\n');
  stdin.write('plain text\n');
  stdin.end(trace);
  const exit = await filter.process.exited;
  t.equal(exit.code, 0);
  await filter.waitForRecords(3, 'three records');
  t.same(filter.records[0], {
    time: '2024-05-01T10:00:00.000Z',
    level: 'info',
    msg: 'json',
    source: 'stdin',
    pod: 'web-1',
    team: 'shop',
  });
  t.match(filter.records[1], { level: 'info', msg: 'plain text', source: 'stdin', pod: 'web-1' });
  t.same(filter.records[2], {
    time: '2024-05-01T10:00:01.000Z',
    level: 'error',
    msg: 'failed',
    source: 'stdin',
    logger: 'c.e.App',
    thread: 'main',
    stack: 'java.lang.IllegalStateException: boom\n\tat c.e.App.main(App.java:5)',
    pod: 'web-1',
    team: 'shop',
  });
  t.same(filter.broken, []);
  t.same(filter.process.logs, [], 'no log lines: a filter is quiet');
  t.same(filter.process.text, []);
});

t.test('a record waiting for more lines is written when the pipe goes quiet, before its end', async (t) => {
  const filter = spawnFilter(t, ['--multiline-timeout', '300ms']);
  const stdin = filter.process.proc.stdin as NodeJS.WritableStream;
  stdin.write(`${trace}\n`);
  await filter.waitForRecords(1, 'the trace, written while stdin is still open');
  t.equal(filter.records[0]?.stack, 'java.lang.IllegalStateException: boom\n\tat c.e.App.main(App.java:5)');
  t.equal(filter.process.exit, undefined, 'still reading');
  stdin.write('\tat a late frame\n');
  stdin.end();
  t.equal((await filter.process.exited).code, 0);
  t.equal(filter.records.length, 2, 'a line after the timeout is a record of its own');
});

t.test('SIGTERM ends the input early: what was read is written, exit 0', async (t) => {
  const filter = spawnFilter(t, []);
  const stdin = filter.process.proc.stdin as NodeJS.WritableStream;
  stdin.write('first\nsecond\n');
  await filter.waitForRecords(1, 'the first line');
  filter.process.signal('SIGTERM');
  t.equal((await filter.process.exited).code, 0);
  await filter.waitForRecords(2, 'both lines');
});

t.test('stdin from a file: read in large chunks to its end', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'app.log');
  const lines = Array.from({ length: 50_000 }, (_, i) =>
    JSON.stringify({ time: '2024-05-01T10:00:00.000Z', level: i % 2 ? 'info' : 'warn', msg: `line ${i}`, i }),
  );
  writeFileSync(file, `${lines.join('\n')}\n`);
  const proc = spawn(
    process.execPath,
    [...nodeFlagsFor('log-normalizer'), cliPath, 'log-normalizer', '--input', '-'],
    {
      stdio: [openSync(file, 'r'), 'pipe', 'pipe'],
    },
  );
  t.teardown(() => proc.kill('SIGKILL'));
  const filter = collectRecords(new Spawned(proc, { logsFrom: 'stderr' }));
  t.equal((await filter.process.exited).code, 0);
  await filter.waitForRecords(50_000, 'every line');
  t.same(
    filter.records.map((r) => r.i),
    lines.map((_, i) => i),
    'in order, each once',
  );
  t.same(filter.records[1], {
    time: '2024-05-01T10:00:00.000Z',
    level: 'info',
    msg: 'line 1',
    source: 'stdin',
    i: 1,
  });
});

t.test('with --admin-address it serves probes and metrics, and still exits 0 at the end', async (t) => {
  const filter = spawnFilter(t, ['--admin-address', '127.0.0.1:0']);
  const admin = `http://${await filter.process.address('admin')}`;
  await waitFor(async () => (await httpRequest(`${admin}/readyz`)).status === 200, { what: '/readyz 200' });
  const stdin = filter.process.proc.stdin as NodeJS.WritableStream;
  stdin.write('{"level":"error","msg":"x"}\nplain\n');
  await filter.waitForRecords(2, 'two records');
  const metrics = (await httpRequest(`${admin}/metrics`)).body;
  t.equal(metric(metrics, 'podkit_log_normalizer_records_total{format="json",level="error"}'), 1);
  t.equal(metric(metrics, 'podkit_log_normalizer_lines_total'), 2);
  stdin.end();
  t.equal((await filter.process.exited).code, 0);
  t.ok(filter.process.logs.some((l) => l.msg === 'stdin ended'));
  t.ok(filter.process.logs.some((l) => l.msg === 'stopped' && l.exitCode === 0));
  t.equal(filter.records.length, 2);
});

t.test('bad options: one line on stderr naming the option, exit 2, nothing read', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /--input is required/],
    [['--input', '-', '--format', 'regex'], /--pattern is required with --format regex/],
    [['--input', '-', '--pattern', '(?<msg>.*)'], /--pattern applies to --format regex only/],
    [['--input', '-', '--format', 'regex', '--pattern', '^(\\w+)$'], /invalid --pattern .*named groups/],
    [['--input', '-', '--timezone', 'Mars/Olympus'], /invalid --timezone "Mars\/Olympus".*IANA time zone/],
    [['--input', '-', '--max-line-bytes', '10'], /invalid --max-line-bytes "10".*at least 1024 bytes/],
    [['--input', '-', '--multiline', 'perl'], /invalid --multiline "perl"/],
    [['--input', '-', '--level-from-file', 'error.log'], /invalid --level-from-file/],
    [['--input', '-', '--add-field', 'msg=x'], /invalid --add-field/],
    [['--input', '-', '--format', 'xml'], /invalid --format "xml": expected one of auto, json/],
  ];
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await runPodkit([
      'log-normalizer',
      ...args,
      '--termination-log',
      '/nonexistent/x',
    ]);
    t.equal(code, 2, args.join(' '));
    t.match(stderr, message);
    t.equal(stdout, '');
  }
});
