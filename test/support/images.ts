/**
 * Container images for tests on machines with no registry: a local stand-in for `node:24-bookworm-slim`
 * made from the node the tests run on (the LTS binary `npm ci` puts in node_modules, whatever node the
 * machine has), this machine's npm, busybox (as /bin/sh) and tini, imported into podman
 * (../shared/recipes/podman.md). Dockerfile.base takes it as `--build-arg NODE_IMAGE=...`. With
 * `{ git: true }` it also holds the host's git and ssh, so git-pull's Dockerfile (which would apt-get
 * them, and this image has no apt) finds them already there.
 * The host's CA bundle goes in with NODE_EXTRA_CA_CERTS set, because npm in the build stage reaches
 * the registry through the same egress (and its CA) as the host does.
 */

import { execFile } from 'node:child_process';
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export async function podman(args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  const { stdout } = await exec('podman', args, {
    timeout: options.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs podman and resolves with its exit code and both streams, whatever the code (exit-code tests). */
export async function podmanResult(
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<PodmanResult> {
  try {
    const { stdout, stderr } = await exec('podman', args, { timeout: options.timeoutMs ?? 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await exec('ldd', [binary]);
  return [...stdout.matchAll(/(\/\S+\.so[^\s]*)/g)].map((match) => match[1] as string);
}

async function copyInto(root: string, path: string, to = path): Promise<void> {
  await mkdir(join(root, dirname(to)), { recursive: true });
  await copyFile(path, join(root, to));
}

/** git-core programs a client never runs (servers, mail, scalar): 15 MB the image does without. */
const gitServerSide = new Set([
  'git-daemon',
  'git-http-backend',
  'git-http-fetch',
  'git-http-push',
  'git-imap-send',
  'git-shell',
  'scalar',
]);

/**
 * The host's git with its helpers (git-remote-http for https remotes; upload-pack, a link to git, for
 * file://) and the ssh client, with every library they link (~30 MB, ~1 s more). Perl helpers in
 * git-core (add -i, send-email) do not work without perl; git-pull never runs them.
 */
async function addGit(root: string): Promise<void> {
  const gitCore = '/usr/lib/git-core';
  const wanted = (path: string) => !gitServerSide.has(basename(path));
  // verbatimSymlinks: git-core's 140 relative links to `git` stay links, not 140 copies.
  await cp(gitCore, join(root, gitCore), { recursive: true, verbatimSymlinks: true, filter: wanted });
  await cp('/usr/share/git-core', join(root, '/usr/share/git-core'), { recursive: true });
  const binaries = ['/usr/bin/git', '/usr/bin/ssh'];
  for (const entry of await readdir(gitCore, { withFileTypes: true })) {
    if (entry.isFile() && wanted(entry.name)) binaries.push(join(gitCore, entry.name));
  }
  const libraries = new Set<string>();
  for (const binary of binaries) {
    // Scripts are not dynamic executables: ldd fails on them, and they need no libraries.
    for (const lib of await sharedLibraries(binary).catch(() => [])) libraries.add(lib);
  }
  for (const path of ['/usr/bin/git', '/usr/bin/ssh', ...libraries]) await copyInto(root, path);
}

export interface LocalNodeImageOptions {
  /** Also the host's git and ssh (for git-pull's image). */
  git?: boolean;
}

/**
 * Builds `localhost/<name>:<tag>` with node and npm at the paths
 * the official image uses. Returns the image reference; the caller removes it.
 */
export async function makeLocalNodeImage(
  reference: string,
  options: LocalNodeImageOptions = {},
): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'podkit-node-image-'));
  try {
    // The node running this build, wherever it is installed (nvm, /usr/local, a distribution package).
    const node = process.execPath;
    await copyInto(root, node, '/usr/local/bin/node');
    for (const lib of await sharedLibraries(node)) await copyInto(root, lib);
    const npmRoot = (await exec('npm', ['root', '-g'])).stdout.trim();
    await cp(join(npmRoot, 'npm'), join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
    for (const [tool, script] of [
      ['npm', 'npm-cli.js'],
      ['npx', 'npx-cli.js'],
    ] as const) {
      await writeFile(
        join(root, 'usr/local/bin', tool),
        `#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/${script} "$@"\n`,
      );
      await chmod(join(root, 'usr/local/bin', tool), 0o755);
    }
    // busybox as /bin/sh and the few applets builds and entrypoints use; tini as the init.
    await copyInto(root, '/usr/bin/busybox', '/bin/busybox');
    for (const applet of [
      'sh',
      'env',
      'ls',
      'cat',
      'mkdir',
      'rm',
      'ln',
      'chown',
      'chmod',
      'id',
      'sleep',
      'wget',
      'kill',
      'grep',
    ]) {
      await mkdir(join(root, applet === 'env' ? 'usr/bin' : 'bin'), { recursive: true });
      await symlink('/bin/busybox', join(root, applet === 'env' ? 'usr/bin' : 'bin', applet));
    }
    await copyInto(root, '/usr/bin/tini-static', '/usr/bin/tini');
    if (options.git) await addGit(root);
    await copyInto(root, '/etc/ssl/certs/ca-certificates.crt');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n',
    );
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
    for (const dir of ['tmp', 'root', 'home/node']) await mkdir(join(root, dir), { recursive: true });
    await chmod(join(root, 'tmp'), 0o1777);
    await exec(
      'sh',
      [
        '-c',
        `tar -C '${root}' -c . | podman import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - '${reference}'`,
      ],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return reference;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export async function removeImages(references: string[]): Promise<void> {
  if (references.length === 0) return;
  await exec('podman', ['rmi', '--force', '--ignore', ...references]).catch(() => {});
}

/**
 * A read-only root filesystem as Kubernetes' `readOnlyRootFilesystem: true` gives it: podman's
 * `--read-only` alone still mounts writable tmpfs on /tmp, /var/tmp and /run, which a pod does not have
 * unless it declares them as volumes.
 */
export const readOnlyRoot = ['--read-only', '--read-only-tmpfs=false'] as const;

/**
 * `podman run -d` of a container on the host's network with a read-only root (readOnlyRoot): what it
 * serves on its loopback is on the host's, as on a pod's, so the test reaches it on 127.0.0.1.
 * `args` are podman's options (-v, -e), the image, then the image's arguments.
 */
export async function runOnHost(name: string, args: string[]): Promise<void> {
  await podman(['run', '-d', '--name', name, '--network', 'host', ...readOnlyRoot, ...args]);
}
