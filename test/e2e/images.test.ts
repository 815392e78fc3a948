/**
 * The images, built for real with podman from a locally made node base (no registry here), then run:
 * the base prints its version as uid 65532; the legacy app serves, reloads on SIGHUP through tini, and
 * stops cleanly on SIGTERM.
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { podkitVersion } from '../../lib/version.js';
import { buildImages, imageReference } from '../../scripts/images.js';
import { httpRequest } from '../support/http.js';
import { makeLocalNodeImage, podman, removeImages } from '../support/images.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

const id = randomBytes(4).toString('hex');
const tag = `test-${id}`;
const nodeImage = await makeLocalNodeImage(`localhost/podkit-test-node:${id}`);
const containers: string[] = [];
t.teardown(async () => {
  if (containers.length) await podman(['rm', '--force', '--ignore', ...containers]).catch(() => {});
  await removeImages([imageReference('legacy-app', tag), imageReference('base', tag), nodeImage]);
});

// --layers=false: no intermediate images are left behind by the test.
const built = await buildImages({
  engine: 'podman',
  nodeImage,
  tag,
  only: ['base', 'legacy-app'],
  buildFlags: ['--layers=false'],
});

t.same(built, [imageReference('base', tag), imageReference('legacy-app', tag)]);

t.test('base image: podkit as uid 65532 under tini', async (t) => {
  const reference = imageReference('base', tag);
  t.equal((await podman(['run', '--rm', reference, '--version'])).trim(), podkitVersion());
  t.match(await podman(['run', '--rm', reference, '--help']), /Usage: podkit <component>/);
  const config = JSON.parse(await podman(['image', 'inspect', reference]))[0].Config;
  t.equal(config.User, '65532:65532');
  t.same(config.Entrypoint, ['tini', '--', 'podkit']);
  t.match(await podman(['run', '--rm', '--entrypoint', 'id', reference]), /^uid=65532/);
});

t.test('legacy-app image: serves on its port, reloads on SIGHUP, exits 0 on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-image-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const config = join(dir, 'app.conf');
  const write = (greeting: string) =>
    writeFileSync(config, `port = ${port}\ngreeting = ${greeting}\nlog_dir = /var/log/legacy\n`, {
      mode: 0o644,
    });
  write('from a container');
  const logs = join(dir, 'logs');
  mkdirSync(logs, { mode: 0o777 });
  chmodSync(logs, 0o777);
  const name = `podkit-legacy-${id}`;
  containers.push(name);
  // Host networking: the app binds 127.0.0.1 only, as in a pod, and the test reaches it on loopback.
  // (podman 4.3 ignores tmpfs modes here, so the writable log directory is a host directory.)
  await podman([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'host',
    '--read-only',
    '-v',
    `${logs}:/var/log/legacy`,
    '-v',
    `${config}:/etc/legacy/app.conf:ro`,
    imageReference('legacy-app', tag),
  ]);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await httpRequest(`${base}/health`).catch(() => undefined))?.status === 200, {
    timeoutMs: 20_000,
    what: 'legacy app in its container',
  }).catch(async (err) => {
    throw new Error(`${(err as Error).message}\n${await podman(['logs', name]).catch(() => '')}`);
  });
  t.equal((await httpRequest(`${base}/`)).body, 'from a container\n');

  write('reloaded in a container');
  await podman(['kill', '--signal', 'HUP', name]);
  await waitFor(async () => (await httpRequest(`${base}/`)).body === 'reloaded in a container\n', {
    what: 'reload',
  });

  await podman(['stop', '--time', '10', name]);
  const state = JSON.parse(await podman(['inspect', name]))[0].State;
  t.equal(state.ExitCode, 0, 'tini forwarded SIGTERM and the app exited cleanly');
  t.match(
    readFileSync(join(logs, 'info.log'), 'utf8'),
    /config reloaded: generation 2/,
    'its log files are on the volume',
  );
});
