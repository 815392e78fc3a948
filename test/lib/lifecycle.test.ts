import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t from 'tap';
import { httpRequest } from '../support/http.js';
import { distDir, startComponent } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const fixture = join(distDir, 'test', 'fixtures', 'slow-http.js');
const start = (args: string[] = [], env?: NodeJS.ProcessEnv) =>
  startComponent(t, 'slow-http', args, { script: fixture, ...(env ? { env } : {}) });

/** Resolves once the fixture has `count` requests of `ms` in its handler, i.e. in flight for the drain. */
const working = (app: Awaited<ReturnType<typeof start>>, ms: number, count = 1) =>
  waitFor(() => app.logs.filter((l) => l.msg === 'working' && l.ms === ms).length === count, {
    what: `${count} request(s) of ${ms} ms in flight`,
  });

t.test(
  'SIGTERM under concurrent requests: not ready, in-flight finish, exit 0 before the deadline',
  async (t) => {
    const app = await start(['--shutdown-timeout', '5s']);
    const base = `http://${await app.address('main')}`;
    const agent = new Agent({ keepAlive: true, maxSockets: 50 });
    t.teardown(() => agent.destroy());

    // Warm keep-alive sockets, then hold 30 requests in flight across the signal.
    await Promise.all(Array.from({ length: 10 }, () => httpRequest(`${base}/work?ms=1`, { agent })));
    const inFlight = Array.from({ length: 30 }, () => httpRequest(`${base}/work?ms=1200`, { agent }));
    await working(app, 1200, 30);
    const signalledAt = Date.now();
    app.signal('SIGTERM');

    await waitFor(async () => (await httpRequest(`${app.adminUrl}/readyz`)).status === 503, {
      what: '/readyz 503',
    });
    const readyz = JSON.parse((await httpRequest(`${app.adminUrl}/readyz`)).body);
    t.equal(readyz.status, 'draining');

    const results = await Promise.allSettled(inFlight);
    const failed = results.filter((r) => r.status === 'rejected' || r.value.status !== 200);
    t.equal(failed.length, 0, '0 failed requests');
    const exit = await app.exited;
    t.equal(exit.code, 0, 'exit 0');
    t.ok(Date.now() - signalledAt < 5000, 'exited before the deadline');
    t.ok(app.logs.some((l) => l.msg === 'stopped'));
  },
);

t.test('new connections are refused once draining has begun', async (t) => {
  const app = await start(['--shutdown-timeout', '5s']);
  const base = `http://${await app.address('main')}`;
  const held = httpRequest(`${base}/work?ms=1000`);
  await working(app, 1000);
  app.signal('SIGTERM');
  await app.waitForLog('shutting down');
  // Refused, or reset when the connect raced into the backlog just before the listener closed:
  // either way the new connection is not served.
  await t.rejects(httpRequest(`${base}/work?ms=1`), /ECONNREFUSED|ECONNRESET/);
  t.equal((await held).status, 200);
  t.equal((await app.exited).code, 0);
});

t.test('--shutdown-delay keeps serving while /readyz is 503', async (t) => {
  // The delay covers the log line's trip to the test and two new connections, on a busy machine too.
  const app = await start(['--shutdown-delay', '3s']);
  const base = `http://${await app.address('main')}`;
  app.signal('SIGTERM');
  await app.waitForLog('shutting down');
  t.equal((await httpRequest(`${app.adminUrl}/readyz`)).status, 503);
  t.equal((await httpRequest(`${base}/work?ms=1`)).status, 200, 'still accepting during the delay');
  t.equal((await app.exited).code, 0);
});

t.test('deadline exceeded: exit 1 with the reason in the termination log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-lifecycle-'));
  const terminationLog = join(dir, 'termination-log');
  writeFileSync(terminationLog, '');
  const app = await start(['--shutdown-timeout', '500ms', '--termination-log', terminationLog]);
  const base = `http://${await app.address('main')}`;
  const held = httpRequest(`${base}/work?ms=10000`).catch(() => 'cut');
  await working(app, 10000);
  const signalledAt = Date.now();
  app.signal('SIGTERM');
  const exit = await app.exited;
  const took = Date.now() - signalledAt;
  t.equal(exit.code, 1);
  t.ok(took >= 450 && took < 3000, `exited after the 500 ms deadline (${took} ms)`);
  t.match(readFileSync(terminationLog, 'utf8'), /shutdown did not finish within 500 ms/);
  t.ok(app.logs.some((l) => l.code === 'PODKIT_ERR_SHUTDOWN_TIMEOUT'));
  t.equal(await held, 'cut');
});

t.test('a second signal exits at once', async (t) => {
  const app = await start(['--shutdown-timeout', '30s']);
  const base = `http://${await app.address('main')}`;
  httpRequest(`${base}/work?ms=20000`).catch(() => {});
  await working(app, 20000);
  app.signal('SIGTERM');
  await app.waitForLog('shutting down');
  const second = Date.now();
  app.signal('SIGINT');
  const exit = await app.exited;
  t.equal(exit.code, 1);
  t.ok(Date.now() - second < 2000, 'did not wait for the drain');
  t.ok(app.logs.some((l) => l.msg === 'second signal: exiting now without draining'));
});

t.test('SIGHUP reloads; a refused reload is logged and counted, and serving goes on', async (t) => {
  const app = await start();
  const base = `http://${await app.address('main')}`;
  app.signal('SIGHUP');
  await app.waitForLog('reloaded');
  t.equal(JSON.parse((await httpRequest(`${base}/work`)).body).reloads, 1);

  const failing = await start(['--reload-fails']);
  failing.signal('SIGHUP');
  const line = await failing.waitForLog((l) => l.code === 'PODKIT_ERR_RELOAD');
  t.equal(line.level, 'error');
  t.match(String(line.err), /reload refused by the fixture/);
  t.equal((await httpRequest(`http://${await failing.address('main')}/work`)).status, 200);
  const metrics = (await httpRequest(`${failing.adminUrl}/metrics`)).body;
  t.match(metrics, /^podkit_reloads_total\{result="failure"\} 1$/m);
});

t.test(
  "logTo: 'stderr' keeps a component's own logs off stdout, which carries only its output",
  async (t) => {
    const script = join(distDir, 'test', 'fixtures', 'stdout-output.js');
    const app = await startComponent(t, 'stdout-output', [], { script, logsFrom: 'stderr' });
    const stdout: string[] = [];
    createInterface({ input: app.proc.stdout as NodeJS.ReadableStream }).on('line', (line) =>
      stdout.push(line),
    );
    await app.waitForLog((l) => l.msg === 'wrote a line' && Number(l.n) >= 3);
    app.signal('SIGTERM');
    t.equal((await app.exited).code, 0);
    t.ok(stdout.length >= 3);
    t.same(
      stdout.filter((line) => !/^output \d+$/.test(line)),
      [],
      'stdout holds only the output lines',
    );
    for (const msg of ['starting', 'listening', 'started', 'shutting down', 'stopped'])
      t.ok(
        app.logs.some((l) => l.msg === msg && l.component === 'stdout-output'),
        `"${msg}" logged on stderr in the log schema`,
      );
  },
);

t.test('bad configuration: one line on stderr, exit 2, termination log, nothing listens', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-lifecycle-'));
  const terminationLog = join(dir, 'termination-log');
  writeFileSync(terminationLog, '');
  const { spawnNode } = await import('../support/process.js');
  const app = spawnNode(t, fixture, ['--listen', 'nowhere', '--termination-log', terminationLog]);
  const exit = await app.exited;
  t.equal(exit.code, 2);
  t.same(app.text, [
    'podkit slow-http: invalid --listen "nowhere": expected host:port, e.g. 127.0.0.1:8080, [::1]:8080 or :8080',
  ]);
  t.same(app.logs, [], 'nothing started');
  t.equal(
    readFileSync(terminationLog, 'utf8'),
    'invalid --listen "nowhere": expected host:port, e.g. 127.0.0.1:8080, [::1]:8080 or :8080\n',
  );

  const fromEnv = spawnNode(t, fixture, [], {
    env: { PODKIT_TERMINATION_LOG: terminationLog, PODKIT_SHUTDOWN_TIMEOUT: 'soon' },
  });
  t.equal((await fromEnv.exited).code, 2);
  t.match(
    readFileSync(terminationLog, 'utf8'),
    /^invalid --shutdown-timeout "soon" \(from env PODKIT_SHUTDOWN_TIMEOUT\)/,
  );

  // The component's own variables win over a pod-wide plain one, for the termination log too.
  const scoped = join(dir, 'scoped-termination-log');
  writeFileSync(scoped, '');
  const fromScopedEnv = spawnNode(t, fixture, [], {
    env: {
      PODKIT_TERMINATION_LOG: terminationLog,
      PODKIT_SLOW_HTTP_TERMINATION_LOG: scoped,
      PODKIT_SLOW_HTTP_SHUTDOWN_TIMEOUT: 'later',
    },
  });
  t.equal((await fromScopedEnv.exited).code, 2);
  t.match(
    readFileSync(scoped, 'utf8'),
    /^invalid --shutdown-timeout "later" \(from env PODKIT_SLOW_HTTP_SHUTDOWN_TIMEOUT\)/,
  );
});

t.test('admin server: probes, and /metrics that promtool accepts', async (t) => {
  const app = await start();
  const healthz = await httpRequest(`${app.adminUrl}/healthz`);
  t.equal(healthz.status, 200);
  t.same(JSON.parse(healthz.body), { status: 'ok', checks: {} });
  const readyz = await httpRequest(`${app.adminUrl}/readyz`);
  t.same(JSON.parse(readyz.body), { status: 'ready', checks: { listener: { ok: true } } });

  const metrics = await httpRequest(`${app.adminUrl}/metrics`);
  t.match(metrics.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(
    metrics.body,
    /^podkit_build_info\{component="slow-http",version="\d+\.\d+\.\d+",node_version="v\d+/m,
  );
  t.match(metrics.body, /^podkit_ready 1$/m);
  t.match(metrics.body, /^process_resident_memory_bytes \d+/m);
  t.notMatch(metrics.body, /nodejs_active_handles_total/);

  const promtool = await lint(metrics.body);
  t.equal(promtool.code, 0, `promtool check metrics: ${promtool.output}`);
  t.equal(promtool.output.trim(), '', 'no lint findings');
});

function lint(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

t.test('a signal during a start-up that never finishes still ends the process at once', async (t) => {
  const { spawnNode } = await import('../support/process.js');
  const app = spawnNode(t, fixture, ['--start-delay', '1h', '--admin-address', '127.0.0.1:0']);
  await app.waitForLog('start-up takes a while');
  const signalled = Date.now();
  app.signal('SIGTERM');
  const exit = await app.exited;
  t.equal(exit.code, 0);
  t.ok(Date.now() - signalled < 3000, 'did not wait for start-up');
  t.ok(app.logs.some((l) => l.msg === 'stopped before start-up finished'));
});
