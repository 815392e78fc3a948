/**
 * scripts/ensure-system.sh proves the machine before the tests run: a Node older than the engines
 * floor stops it with one line, so does a podman without `kube play` (the e2e plays a chart with it),
 * and its containers.conf merge keeps the machine's other settings.
 */

import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { repoRoot } from './support/process.js';

const run = promisify(execFile);
const floor = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }
).engines.node.replace('>=', '');

/** A `node` first on PATH that reports `version` and otherwise runs the real one. */
function nodeReporting(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-fake-node-'));
  writeFileSync(
    join(dir, 'node'),
    `#!/bin/sh\n[ "$1" = --version ] && echo ${version} && exit 0\nexec ${process.execPath} "$@"\n`,
  );
  chmodSync(join(dir, 'node'), 0o755);
  return dir;
}

async function ensureSystem(profile: string, path: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(join(repoRoot, 'scripts/ensure-system.sh'), [profile], {
      env: { ...process.env, PATH: path },
    });
    return { code: 0, stderr };
  } catch (err) {
    const { code, stderr } = err as { code: number; stderr: string };
    return { code, stderr };
  }
}

t.test('a Node below the engines floor stops it with one line naming both versions', async (t) => {
  // Just below the floor, whether it names a minor (>=20.19) or a major only (>=24).
  const [major = 0, minor = 0] = floor.split('.').map(Number);
  const old = minor > 0 ? `v${major}.${minor - 1}.9` : `v${major - 1}.99.9`;
  const result = await ensureSystem('demo', `${nodeReporting(old)}:${process.env.PATH}`);
  t.equal(result.code, 1);
  t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  t.match(result.stderr, `Node.js >= ${floor}`);
  t.match(result.stderr, old);
});

t.test('a Node at or above the floor passes the check', async (t) => {
  for (const version of [`v${floor}.0`, `v${Number(floor.split('.')[0]) + 1}.0.0`]) {
    const result = await ensureSystem('demo', `${nodeReporting(version)}:${process.env.PATH}`);
    t.notMatch(result.stderr, /Node\.js/, `${version} accepted`);
  }
});

/** A `podman` first on PATH that reports `version` and knows no `kube` command, like podman 3. */
async function podmanWithoutKube(t: Test, version: string): Promise<string> {
  const real = (await run('sh', ['-c', 'command -v podman'])).stdout.trim();
  const dir = mkdtempSync(join(tmpdir(), 'podkit-fake-podman-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'podman'),
    `#!/bin/sh\n[ "$1" = --version ] && echo "podman version ${version}" && exit 0\n` +
      `[ "$1" = kube ] && echo 'Error: unrecognized command \`podman kube\`' >&2 && exit 125\nexec ${real} "$@"\n`,
  );
  chmodSync(join(dir, 'podman'), 0o755);
  return dir;
}

t.test('the test profile needs `podman kube play`: a podman without it stops it with one line', async (t) => {
  // Node from node_modules, as npm scripts run it: the machine's own may be older than the floor.
  const path = `${join(repoRoot, 'node_modules/.bin')}:${process.env.PATH}`;
  const old = await ensureSystem('test', `${await podmanWithoutKube(t, '3.4.4')}:${path}`);
  t.equal(old.code, 1);
  t.equal(old.stderr.trim().split('\n').length, 1, 'one line');
  t.match(old.stderr, /needs `podman kube play` \(podman >= 4\); this is podman version 3\.4\.4/);
  const real = await ensureSystem('test', path);
  t.notMatch(real.stderr, /kube play/, "this machine's podman has it");
});

t.test('containers.conf is merged: the two settings podman needs, everything else kept', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'podkit-conf-')), 'containers.conf');
  writeFileSync(
    file,
    [
      '# site settings',
      '[containers]',
      'log_driver = "k8s-file"',
      'default_ulimits = ["nofile=10:10"]',
      '',
      '[engine]',
      '# runtime = "crun"',
      'runtime = "crun"',
      '',
      '[network]',
      'network_backend = "netavark"',
      '',
    ].join('\n'),
  );
  const { stdout } = await run(join(repoRoot, 'scripts/merge-ini.sh'), [
    file,
    'containers',
    'default_ulimits',
    '["nofile=4096:4096"]',
    'engine',
    'runtime',
    '"runc"',
  ]);
  const lines = stdout.split('\n');
  for (const kept of ['# site settings', 'log_driver = "k8s-file"', '# runtime = "crun"', '[network]'])
    t.ok(lines.includes(kept), `kept: ${kept}`);
  t.ok(lines.includes('network_backend = "netavark"'));
  t.same(
    lines.filter((line) => /^(runtime|default_ulimits) =/.test(line)),
    ['default_ulimits = ["nofile=4096:4096"]', 'runtime = "runc"'],
    'each setting once, with the new value',
  );
  t.ok(lines.indexOf('runtime = "runc"') > lines.indexOf('[engine]'), 'runtime under [engine]');
  t.ok(lines.indexOf('runtime = "runc"') < lines.indexOf('[network]'));

  const { stdout: fresh } = await run(join(repoRoot, 'scripts/merge-ini.sh'), [
    join(file, '..', 'absent.conf'),
    'engine',
    'runtime',
    '"runc"',
  ]);
  t.equal(fresh.trim(), '[engine]\nruntime = "runc"', 'an absent file becomes the settings alone');
});
