/**
 * git over SSH against a real OpenSSH server: a key from --ssh-key-file (read by ssh at every sync),
 * host keys always checked against --known-hosts-file, and refusals (unknown host key, key not
 * authorized) that keep the last good revision live.
 */

import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeRemote } from '../../../test/support/git.js';
import { makeSshKey, startSshd } from '../../../test/support/sshd.js';
import { commandShim, startGitPull, tempDir, withShims } from './helpers.js';

t.test(
  'ssh: syncs with the key and known hosts; a key the server refuses keeps the last good revision',
  async (t) => {
    const sshd = await startSshd(t);
    const remote = await makeRemote(t, { 'version.txt': 'over ssh\n' });
    const keyDir = tempDir(t);
    const keyFile = join(keyDir, 'id');
    copyFileSync(sshd.clientKey.privateKey, keyFile);
    const ssh = commandShim(t, 'ssh');
    const app = await startGitPull(
      t,
      [
        '--repo',
        sshd.url(remote.bare),
        '--ssh-key-file',
        keyFile,
        '--known-hosts-file',
        sshd.knownHosts,
        '--period',
        '200ms',
        '--max-backoff',
        '400ms',
        '--max-failures',
        '-1',
      ],
      { env: withShims(ssh) },
    );
    await app.waitLive(remote.first);
    t.equal(app.read('version.txt'), 'over ssh\n');
    const runs = ssh.runs();
    t.ok(runs.length > 0, 'ssh ran through the shim');
    for (const run of runs) {
      // No ssh_config of the host applies; the options podkit passes still do.
      t.match(run, /^-F \/dev\/null /, `ssh ${run}`);
      t.match(run, /-o StrictHostKeyChecking=yes/);
      t.match(run, /-o UserKnownHostsFile=\S+/);
      t.match(run, new RegExp(`-i ${keyFile} -o IdentitiesOnly=yes`));
    }

    const stranger = await makeSshKey(keyDir, 'stranger');
    copyFileSync(stranger.privateKey, keyFile);
    const second = await remote.commit({ 'version.txt': 'second\n' });
    await remote.push();
    const refused = await app.waitForLog((line) => line.code === 'PODKIT_ERR_GIT_AUTH', 30_000);
    t.match(String(refused.err), /Permission denied \(publickey\)/);
    t.equal(app.live(), remote.first, 'the last good revision stays live');

    copyFileSync(sshd.clientKey.privateKey, keyFile);
    await app.waitLive(second);
    t.equal(app.read('version.txt'), 'second\n', 'the restored key file is used at the next sync');
    t.notOk(
      JSON.stringify(app.logs).includes(readFileSync(keyFile, 'utf8').split('\n')[1] as string),
      'no key material logged',
    );
  },
);

t.test('ssh: a server whose host key is not the known one is refused', async (t) => {
  const sshd = await startSshd(t);
  const remote = await makeRemote(t);
  const app = await startGitPull(
    t,
    [
      '--repo',
      sshd.url(remote.bare),
      '--ssh-key-file',
      sshd.clientKey.privateKey,
      '--known-hosts-file',
      sshd.wrongKnownHosts,
      '--max-failures',
      '-1',
    ],
    { ready: false },
  );
  const refused = await app.waitForLog((line) => line.code === 'PODKIT_ERR_GIT_AUTH', 30_000);
  t.match(String(refused.err), /Host key verification failed/);
  t.equal(app.live(), undefined, 'nothing was published');
  t.equal(await app.readyStatus(), 503);
});
