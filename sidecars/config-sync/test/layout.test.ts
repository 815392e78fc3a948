/**
 * The target directory on a real filesystem: the kubelet's layout, links that follow the key set, a
 * refusal to clobber files config-sync did not make, version pruning and file modes; and the health gate
 * against a real HTTP server.
 */

import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { HttpClient } from '../../../lib/http-client.js';
import { awaitHealthy } from '../src/health-gate.js';
import { KubeletLayout } from '../src/layout.js';
import { runValidateCommand } from '../src/validate.js';
import { targetLayout, tempDir } from './helpers.js';

const files = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([key, value]) => [key, Buffer.from(value)]));

t.test('publish: the kubelet layout, links following the key set', async (t) => {
  const root = tempDir();
  const layout = new KubeletLayout(root, 1, 0o644);
  const first = await layout.publish(
    files({ 'app.conf': 'one', 'dash/a.json': '{}', 'dash/b.json': '[]' }),
    1,
  );
  t.match(first, /^\.\.v1-\d{8}T\d{9}Z-1$/);
  t.same(await targetLayout(root), {
    '..data': first,
    [first]: 'dir',
    'app.conf': '..data/app.conf',
    dash: '..data/dash',
  });
  t.equal(readFileSync(join(root, 'dash', 'b.json'), 'utf8'), '[]', 'a folder reads through its link');

  const second = await layout.publish(files({ 'app.conf': 'two', 'extra.conf': 'x' }), 2);
  t.same(await targetLayout(root), {
    '..data': second,
    [first]: 'dir',
    [second]: 'dir',
    'app.conf': '..data/app.conf',
    'extra.conf': '..data/extra.conf',
  });
  t.equal(readFileSync(join(root, 'app.conf'), 'utf8'), 'two');

  const third = await layout.publish(files({ 'app.conf': 'three' }), 3);
  t.same(
    readdirSync(root)
      .filter((e) => e.startsWith('..v'))
      .sort(),
    [second, third].sort(),
    '--keep-versions 1: the live one and one previous',
  );
  t.notOk(readdirSync(root).includes('extra.conf'), 'a key that went away loses its link');

  const current = await layout.current();
  t.equal(current?.name, third);
  t.equal(current?.generation, 3);
  t.same(
    [...(current?.files ?? [])].map(([k, v]) => [k, v.toString()]),
    [['app.conf', 'three']],
  );
});

t.test('publish: exact file modes, foreign files left alone, a failed check publishes nothing', async (t) => {
  const root = tempDir();
  writeFileSync(join(root, 'README'), 'not ours');
  mkdirSync(join(root, 'cache'));
  const layout = new KubeletLayout(root, 2, 0o600);
  await layout.publish(files({ 'secret.conf': 's' }), 1);
  t.equal(statSync(join(root, 'secret.conf')).mode & 0o777, 0o600);
  t.equal(readFileSync(join(root, 'README'), 'utf8'), 'not ours', 'files of others are not touched');
  t.ok(lstatSync(join(root, 'cache')).isDirectory());

  await t.rejects(layout.publish(files({ README: 'mine now?' }), 2), {
    code: 'PODKIT_ERR_PUBLISH',
    message: /README exists and was not made by config-sync/,
  });
  t.equal(readFileSync(join(root, 'README'), 'utf8'), 'not ours');
  t.equal(readFileSync(join(root, 'secret.conf'), 'utf8'), 's', 'the live version is unchanged');

  const before = await targetLayout(root);
  await t.rejects(
    layout.publish(files({ 'secret.conf': 'refused' }), 3, (dir) =>
      runValidateCommand(
        'grep -q "^ok" "$1/secret.conf" || { echo "bad secret.conf in $PODKIT_CONFIG_DIR"; exit 3; }',
        dir,
        5000,
      ),
    ),
    {
      code: 'PODKIT_ERR_VALIDATION',
      message: /refused the version: sh exited with 3: bad secret\.conf in .*\.\.v3-/,
    },
  );
  t.same(await targetLayout(root), before, 'nothing published, no candidate left behind');
  await layout.publish(files({ 'secret.conf': 'ok now' }), 3, (dir) =>
    runValidateCommand('grep -q "^ok" "$1/secret.conf"', dir, 5000),
  );
  t.equal(readFileSync(join(root, 'secret.conf'), 'utf8'), 'ok now');
});

t.test('the validate command does not see our PODKIT_* variables', async (t) => {
  const root = tempDir();
  process.env.PODKIT_TOKEN = 'must-not-leak';
  t.teardown(() => {
    delete process.env.PODKIT_TOKEN;
  });
  await t.rejects(runValidateCommand('env | grep -q must-not-leak && exit 9; exit 4', root, 5000), {
    message: /exited with 4/,
  });
});

t.test('health gate: healthy only after a stable run of 2xx; a flap restarts the clock', async (t) => {
  const answers: number[] = [];
  let next = 200;
  const server = createServer((_req, res) => {
    answers.push(next);
    res.writeHead(next, { 'content-type': 'application/json' });
    res.end(next === 200 ? '{"status":"ok"}' : '{"status":"config-error"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/health`);
  const client = new HttpClient();
  t.teardown(() => client.close());

  const healthy = await awaitHealthy({ client, url, timeoutMs: 5000, stableMs: 300, intervalMs: 50 });
  t.equal(healthy.healthy, true);
  t.ok(healthy.checks >= 4, `several checks before accepting (${healthy.checks})`);

  // Healthy first (the signal not handled yet), then failing: must not be accepted.
  next = 200;
  setTimeout(() => {
    next = 503;
  }, 100);
  const flapped = await awaitHealthy({ client, url, timeoutMs: 800, stableMs: 300, intervalMs: 50 });
  t.equal(flapped.healthy, false);
  t.equal(flapped.last, 'HTTP 503 {"status":"config-error"}');

  // Failing, then hanging: the probe the gate's deadline cuts short does not hide the app's answer.
  let answered = 0;
  const hangs = createServer((_req, res) => {
    answered += 1;
    if (answered > 2) return;
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"status":"config-error"}');
  });
  await new Promise<void>((resolve) => hangs.listen(0, '127.0.0.1', resolve));
  t.teardown(() => hangs.closeAllConnections());
  t.teardown(() => hangs.close());
  const hangsUrl = new URL(`http://127.0.0.1:${(hangs.address() as AddressInfo).port}/health`);
  const hung = await awaitHealthy({ client, url: hangsUrl, timeoutMs: 1500, stableMs: 0, intervalMs: 20 });
  t.equal(hung.healthy, false);
  t.equal(hung.last, 'HTTP 503 {"status":"config-error"}', 'the real answer, not the cut-short probe');
  t.equal(hung.checks, 2);

  server.close();
  const down = await awaitHealthy({ client, url, timeoutMs: 300, stableMs: 0, intervalMs: 50 });
  t.equal(down.healthy, false);
  t.match(down.last, /ECONNREFUSED/);
});
