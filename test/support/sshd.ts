/**
 * A real OpenSSH server on a loopback port for git-over-ssh tests: its own host key, one authorized
 * client key, public-key auth only, for the user running the tests. Git runs `git-upload-pack` through
 * it exactly as on a hosted server.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { type Teardown, waitForReadyLine } from './process.js';

const exec = promisify(execFile);

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

/** A new ed25519 key pair in `dir` (files `<name>` and `<name>.pub`). */
export async function makeSshKey(dir: string, name: string): Promise<KeyPair> {
  const privateKey = join(dir, name);
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', privateKey]);
  return { privateKey, publicKey: `${privateKey}.pub` };
}

export interface Sshd {
  port: number;
  user: string;
  /** `ssh://<user>@127.0.0.1:<port><absolute path>` */
  url(path: string): string;
  /** A key the server accepts. */
  clientKey: KeyPair;
  /** A known_hosts file naming this server's real host key. */
  knownHosts: string;
  /** A known_hosts file naming this address with some other key (a man in the middle, or a rebuilt host). */
  wrongKnownHosts: string;
}

export async function startSshd(t: Teardown): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-sshd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [hostKey, otherHostKey, clientKey] = await Promise.all([
    makeSshKey(dir, 'host_key'),
    makeSshKey(dir, 'other_host_key'),
    makeSshKey(dir, 'client_key'),
  ]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(clientKey.publicKey));
  const port = await freePort();
  const user = userInfo().username;
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey.privateKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `AllowUsers ${user}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      '',
    ].join('\n'),
  );
  // The privilege-separation directory OpenSSH insists on (created by its service unit normally).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.teardown(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
  await waitForReadyLine(child, `Server listening on 127.0.0.1 port ${port}.`, `sshd on port ${port}`);
  const knownHostsLine = (pub: string) =>
    `[127.0.0.1]:${port} ${readFileSync(pub, 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, knownHostsLine(hostKey.publicKey));
  const wrongKnownHosts = join(dir, 'wrong_known_hosts');
  writeFileSync(wrongKnownHosts, knownHostsLine(otherHostKey.publicKey));
  return {
    port,
    user,
    url: (path) => `ssh://${user}@127.0.0.1:${port}${path}`,
    clientKey,
    knownHosts,
    wrongKnownHosts,
  };
}
