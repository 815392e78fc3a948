/**
 * The README's "Run one container" commands, taken from the README itself so it cannot drift, run with
 * podman in place of docker in front of the legacy app on the host: HTTPS through tls-proxy with the
 * test's certificate, and metrics-exporter serving the app's own request count.
 */

import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { imageReference } from '../../scripts/images.js';
import { CertificateAuthority, writeCert } from '../support/certs.js';
import { httpRequest } from '../support/http.js';
import { podman, podmanResult } from '../support/images.js';
import { freePort } from '../support/ports.js';
import { distDir, repoRoot, spawnNode } from '../support/process.js';
import { waitFor } from '../support/wait.js';
import { httpsGet } from './pod-https.js';

/** The `docker run` commands of the README section, continuation lines joined. */
export function readmeRunCommands(readme: string): string[] {
  const section = readme.split('\n## Run one container\n')[1]?.split('\n## ')[0] ?? '';
  const block = section.split('```sh\n')[1]?.split('```')[0] ?? '';
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((line) => line.startsWith('docker run '));
}

/** One README command as podman arguments: the test's tag, names and ports, `$PWD` as `dir`. */
function asPodman(
  command: string,
  tag: string,
  id: string,
  dir: string,
  ports: Map<number, number>,
): string[] {
  let line = command.replaceAll('"$PWD', `"${dir}`);
  for (const [from, to] of ports) line = line.replace(new RegExp(`:${from}\\b`, 'g'), `:${to}`);
  const words = line.split(/\s+/).map((word) => word.replaceAll('"', ''));
  if (words.shift() !== 'docker') throw new Error(`not a docker command: ${command}`);
  return words.map((word, i) => {
    if (words[i - 1] === '--name') return `${word}-${id}`;
    const image = /^localhost\/podkit-([a-z-]+):0\.1\.0$/.exec(word);
    return image?.[1] ? imageReference(image[1], tag) : word;
  });
}

export function readmeRunTests(opts: {
  id: string;
  tag: string;
  tempDir: (prefix: string) => string;
  containers: string[];
}): void {
  t.test('README "Run one container": its docker run commands work with podman', async (t) => {
    const commands = readmeRunCommands(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
    t.equal(commands.length, 2, 'tls-proxy and metrics-exporter commands found in the README');

    // $PWD of the README: ./tls with the certificate, and the example mapping at its repository path.
    const dir = opts.tempDir('podkit-readme-run-');
    mkdirSync(join(dir, 'tls'), { mode: 0o755 });
    const ca = await CertificateAuthority.create();
    const files = await writeCert(join(dir, 'tls'), 'server', await ca.localhost());
    copyFileSync(files.chain, join(dir, 'tls/tls.crt'));
    copyFileSync(files.key, join(dir, 'tls/tls.key'));
    // In Kubernetes the Secret's defaultMode/fsGroup lets the container's uid 65532 read the key.
    chmodSync(join(dir, 'tls/tls.key'), 0o644);
    mkdirSync(join(dir, 'examples/legacy-app'), { recursive: true, mode: 0o755 });
    copyFileSync(
      join(repoRoot, 'examples/legacy-app/stats-mapping.yml'),
      join(dir, 'examples/legacy-app/stats-mapping.yml'),
    );

    // Free ports instead of the README's, which other pods on a shared machine may hold.
    const ports = new Map<number, number>();
    for (const port of [8443, 8080, 9401, 9407]) ports.set(port, await freePort());
    const appPort = ports.get(8080) as number;
    const conf = join(dir, 'app.conf');
    mkdirSync(join(dir, 'logs'));
    // The app on the host, where the README's 127.0.0.1:8080 points.
    writeFileSync(
      conf,
      `port = ${appPort}\ngreeting = Hello from the host\nlog_dir = ${dir}/logs\nstorage = memory\n`,
    );
    const app = spawnNode(t, join(distDir, 'examples/legacy-app/src/main.js'), ['-c', conf]);
    await waitFor(
      async () => (await httpRequest(`http://127.0.0.1:${appPort}/`).catch(() => undefined))?.status === 200,
      {
        timeoutMs: 30_000,
        what: 'the legacy app on the host',
      },
    );

    for (const command of commands) {
      const args = asPodman(command, opts.tag, opts.id, dir, ports);
      opts.containers.push(args[args.indexOf('--name') + 1] as string);
      const run = await podmanResult(args);
      t.equal(run.code, 0, `${args.slice(0, 4).join(' ')} starts`);
    }
    const logsOf = async () =>
      (
        await Promise.all(
          opts.containers.slice(-2).map((name) => podman(['logs', name]).catch((e: Error) => e.message)),
        )
      ).join('\n');

    const url = `https://localhost:${ports.get(8443)}/`;
    let answer: { status: number; body: string } | undefined;
    await waitFor(
      async () => {
        answer = await httpsGet(url, ca.certPem, undefined, 5_000).catch(() => undefined);
        return answer?.status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'HTTPS through the README tls-proxy' },
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await logsOf()}`);
    });
    t.equal(answer?.body, 'Hello from the host\n', "the host app's greeting over HTTPS");

    let requests = 0;
    await waitFor(
      async () => {
        const metrics = await httpRequest(`http://127.0.0.1:${ports.get(9407)}/metrics`).catch(
          () => undefined,
        );
        requests = Number(/^legacy_requests_total (\d+)/m.exec(metrics?.body ?? '')?.[1] ?? 0);
        return requests >= 2;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the app count in metrics-exporter' },
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await logsOf()}`);
    });
    t.ok(requests >= 2, `legacy_requests_total ${requests}: the app's own count through the README exporter`);

    for (const name of opts.containers.slice(-2)) {
      await podman(['stop', '--time', '15', name]);
      t.equal(
        JSON.parse(await podman(['inspect', name]))[0].State.ExitCode,
        0,
        `${name} exited 0 on SIGTERM`,
      );
    }
    await app.stop();
  });
}
