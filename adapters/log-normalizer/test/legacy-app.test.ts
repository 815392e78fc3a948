/**
 * The legacy app's per-level files (info.log with INFO and WARN lines, error.log with ERROR lines and
 * their stack traces), normalised end to end: the real app writes them, the real adapter follows
 * `<dir>/*.log` with no configuration, and the records on its stdout are what `kubectl logs` would show.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { httpRequest } from '../../../test/support/http.js';
import { freePort } from '../../../test/support/ports.js';
import { distDir, spawnNode } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { type LogRecord, metric, startNormalizer, tempDir } from './helpers.js';

const appScript = join(distDir, 'examples', 'legacy-app', 'src', 'main.js');

t.test('the legacy app: every level, a stack trace as one record, each record once', async (t) => {
  const dir = tempDir(t);
  const logDir = join(dir, 'logs');
  const port = await freePort();
  const configPath = join(dir, 'app.conf');
  const config = (extra: string) =>
    writeFileSync(
      configPath,
      `port = ${port}\ngreeting = hello\nlog_dir = ${logDir}\npid_file = ${join(dir, 'pid')}\n${extra}`,
    );
  config('');
  const app = spawnNode(t, appScript, ['-c', configPath]);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await httpRequest(`${base}/health`).catch(() => undefined))?.status === 200, {
    what: 'legacy app /health',
  });

  const adapter = await startNormalizer(t, ['--input', `${logDir}/*.log`, '--multiline-timeout', '200ms']);
  const started = Date.now();
  const find = (test: (r: LogRecord) => boolean, what: string) =>
    adapter
      .waitForRecords((records) => records.some(test), what)
      .then(() => adapter.records.find(test) as LogRecord);

  const listening = await find((r) => String(r.msg).startsWith('legacy-app '), 'the start-up line');
  t.match(listening, {
    level: 'info',
    msg: new RegExp(`^legacy-app \\S+ listening on 127\\.0\\.0\\.1:${port} \\(storage=memory\\)$`),
    source: join(logDir, 'info.log'),
    thread: 'main',
  });
  t.ok(Math.abs(Date.parse(String(listening.time)) - started) < 60_000, 'its time, read as UTC, is now');
  t.match(String(listening.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  t.equal((await httpRequest(`${base}/`)).status, 200);
  const get = await find((r) => String(r.msg).startsWith('GET / 200 '), 'GET /');
  t.match(get, { level: 'info', source: join(logDir, 'info.log'), thread: /^http-\d$/ });

  t.equal((await httpRequest(`${base}/fail`)).status, 500);
  const failure = await find((r) => r.msg === 'unhandled exception in request handler', 'the /fail error');
  t.match(failure, { level: 'error', source: join(logDir, 'error.log'), thread: /^http-\d$/ });
  t.match(String(failure.stack), /^Error: simulated failure requested at \/fail\n {4}at /);
  t.ok(String(failure.stack).split('\n').length > 3, 'the whole stack trace is in the record');

  // A reload that asks for another port: a WARN line in info.log.
  writeFileSync(configPath, `port = ${port + 1}\ngreeting = hello\nlog_dir = ${logDir}\n`);
  app.signal('SIGHUP');
  const warning = await find((r) => String(r.msg).startsWith('port change'), 'the port-change warning');
  t.match(warning, { level: 'warn', source: join(logDir, 'info.log'), thread: 'reload' });

  // A reload of a bad file: an ERROR line in error.log with the parser's error and stack.
  writeFileSync(configPath, `port = ${port}\ncolour = red\nlog_dir = ${logDir}\n`);
  app.signal('SIGHUP');
  const rejected = await find((r) => String(r.msg).startsWith('config rejected'), 'the rejected reload');
  t.match(rejected, { level: 'error', source: join(logDir, 'error.log'), thread: 'reload' });
  t.match(String(rejected.stack), /colour/);

  const metrics = (await httpRequest(`${adapter.adminUrl}/metrics`)).body;
  t.equal(metric(metrics, 'podkit_log_normalizer_files'), 2, 'info.log and error.log followed');
  t.equal(metric(metrics, 'podkit_log_normalizer_records_total{format="log4j",level="error"}'), 2);
  t.equal(metric(metrics, 'podkit_log_normalizer_lag_bytes'), 0);

  app.signal('SIGTERM');
  await find((r) => r.msg === 'stopped', "the app's last line");
  await app.exited;
  adapter.process.signal('SIGTERM');
  t.equal((await adapter.process.exited).code, 0);

  t.same(adapter.broken, [], 'stdout held nothing but records');
  const messages = adapter.records.map((r) => `${r.source} ${r.msg}`);
  t.equal(new Set(messages).size, messages.length, 'no record twice');
  for (const record of adapter.records) {
    t.same(
      Object.keys(record).slice(0, 4),
      ['time', 'level', 'msg', 'source'],
      'time, level, msg, source first',
    );
    t.notOk('component' in record, "none of the adapter's own log lines");
  }
  t.ok(
    adapter.process.logs.some((l) => l.msg === 'following file' && l.component === 'log-normalizer'),
    'its own logs went to stderr',
  );
});
