/**
 * The ways a sidecar tells an app something changed: a signal across a shared PID namespace, an HTTP
 * call, a command. Each against a real peer.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Backoff } from '../../lib/backoff.js';
import { runCommand } from '../../lib/command.js';
import { HttpClient } from '../../lib/http-client.js';
import { findProcesses, signalProcesses } from '../../lib/process-signal.js';
import { callWebhook } from '../../lib/webhook.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

/** A process that names itself (like the legacy app) and counts SIGHUPs on stdout. */
function hupCounter(title: string) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `process.title = ${JSON.stringify(title)}; let n = 0; process.on('SIGHUP', () => console.log('hup ' + ++n)); setInterval(() => {}, 1000); console.log('up');`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  t.teardown(() => child.kill('SIGKILL'));
  return { child, output: () => out };
}

t.test('backoff grows with equal jitter, is capped, and resets', async (t) => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
  t.same(
    [1, 2, 3, 4, 5].map(() => backoff.next()),
    [100, 200, 400, 800, 1000],
  );
  backoff.reset();
  t.equal(backoff.next(), 100);
  const low = new Backoff({ initialMs: 100, random: () => 0 });
  t.equal(low.next(), 50, 'never below half the ceiling');
});

t.test('signal by process name and by pid file', async (t) => {
  const title = `podkit-app-${process.pid}`;
  const app = hupCounter(title);
  await waitFor(() => app.output().includes('up'), { what: 'app up' });

  const found = await signalProcesses({ name: title }, 'SIGHUP');
  t.same(
    found.map((p) => p.pid),
    [app.child.pid],
  );
  await waitFor(() => app.output().includes('hup 1'), { what: 'first SIGHUP' });

  const pidFile = join(mkdtempSync(join(tmpdir(), 'podkit-pid-')), 'app.pid');
  writeFileSync(pidFile, `${app.child.pid}\n`);
  await signalProcesses({ pidFile }, 'SIGHUP');
  await waitFor(() => app.output().includes('hup 2'), { what: 'second SIGHUP' });

  t.same(await findProcesses({ name: 'no-such-process-name' }), []);
  await t.rejects(signalProcesses({ name: 'no-such-process-name' }, 'SIGHUP'), {
    code: 'PODKIT_ERR_SIGNAL',
    message: /shareProcessNamespace: true/,
  });
  writeFileSync(pidFile, '999999\n');
  await t.rejects(signalProcesses({ pidFile }, 'SIGHUP'), { message: /no process 999999/ });
  writeFileSync(pidFile, 'garbage');
  await t.rejects(signalProcesses({ pidFile }, 'SIGHUP'), { message: /does not hold a pid/ });
});

t.test('webhook: retries 5xx and network errors, not 4xx', async (t) => {
  const statuses = [503, 502, 200];
  let calls = 0;
  let authorization: string | undefined;
  const server = createServer((req, res) => {
    calls++;
    authorization = req.headers.authorization;
    res.statusCode = req.url === '/bad' ? 400 : (statuses.shift() ?? 200);
    res.end();
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fast = () => new Backoff({ initialMs: 10, maxMs: 20 });
  const closedPort = await freePort();
  const client = new HttpClient();
  t.teardown(() => client.close());

  t.same(await callWebhook({ client, url: new URL(`${base}/reload`), attempts: 3, backoff: fast() }), {
    status: 200,
    attempts: 3,
  });
  calls = 0;
  await t.rejects(callWebhook({ client, url: new URL(`${base}/bad`), attempts: 3, backoff: fast() }), {
    code: 'PODKIT_ERR_WEBHOOK',
    message: /POST http:\/\/127\.0\.0\.1:\d+\/bad failed: HTTP 400/,
  });
  t.equal(calls, 1, '4xx is not retried');
  await callWebhook({
    client,
    url: new URL(`${base.replace('//', '//user:s%40cret@')}/auth`),
    backoff: fast(),
  });
  t.equal(
    authorization,
    `Basic ${Buffer.from('user:s@cret').toString('base64')}`,
    'URL credentials sent as basic auth',
  );
  await t.rejects(
    callWebhook({
      client,
      url: new URL(`http://user:secret@127.0.0.1:${closedPort}/x`),
      attempts: 2,
      backoff: fast(),
    }),
    { message: /^POST http:\/\/user:redacted@127\.0\.0\.1:\d+\/x failed: .*ECONNREFUSED/ },
    'credentials never appear in the error',
  );
});

t.test('commands: exit codes, output, and timeouts that kill the whole group', async (t) => {
  const ok = await runCommand({ command: ['sh', '-c', 'echo hello; echo oops >&2'], timeoutMs: 5000 });
  t.equal(ok.exitCode, 0);
  t.match(ok.output, /hello/);
  await t.rejects(runCommand({ command: ['sh', '-c', 'echo nope; exit 3'], timeoutMs: 5000 }), {
    code: 'PODKIT_ERR_COMMAND',
    message: 'sh exited with 3: nope',
  });
  const started = Date.now();
  await t.rejects(runCommand({ command: ['sh', '-c', 'sleep 30 & sleep 30'], timeoutMs: 200 }), {
    message: /timed out after 200 ms/,
  });
  t.ok(Date.now() - started < 3000, 'the timeout does not wait for grandchildren');
  await t.rejects(runCommand({ command: ['/no/such/binary'], timeoutMs: 1000 }), {
    message: /cannot run \/no\/such\/binary: ENOENT/,
  });
  const piped = await runCommand({ command: ['cat'], input: 'from stdin', timeoutMs: 5000 });
  t.equal(piped.output, 'from stdin');
});
