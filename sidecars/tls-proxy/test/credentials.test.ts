/**
 * The private key never leaves its file: after serving, reloading and refusing a key, its bytes are not
 * in anything tls-proxy wrote or showed (logs at debug, --help, /metrics, the termination log,
 * /proc/<pid>/cmdline).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { writeCert } from '../../../test/support/certs.js';
import { runPodkit } from '../../../test/support/process.js';
import { httpsRequest, makePki, metrics, startProxy, startUpstream } from './helpers.js';

const pki = await makePki();
const upstream = await startUpstream(t);

/** Pieces of a key's base64 body: any one of them showing up anywhere is a leak. */
function keyPieces(keyFile: string): string[] {
  const body = readFileSync(keyFile, 'utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('-----'))
    .join('');
  const pieces: string[] = [];
  for (let i = 0; i + 24 <= body.length; i += 24) pieces.push(body.slice(i, i + 24));
  return pieces;
}

function leaks(text: string, pieces: string[]): string[] {
  const flat = text.replace(/\\n|\s/g, '');
  return pieces.filter((piece) => flat.includes(piece));
}

t.test('the key is in no log, metric, help text, termination log or command line', async (t) => {
  const pieces = keyPieces(pki.server.key);
  t.ok(pieces.length >= 4);
  const proxy = await startProxy(t, pki, upstream.url, ['--log-level', 'debug']);
  t.equal((await httpsRequest(`${proxy.url}/echo`, pki)).status, 200);
  // A reload with a key that does not match: refused, and logged with the file name only.
  const stranger = await writeCert(pki.dir, 'stranger-server', await pki.ca.localhost());
  const keyCopy = readFileSync(pki.server.key);
  writeFileSync(pki.server.key, readFileSync(stranger.key));
  proxy.signal('SIGHUP');
  await proxy.waitForLog((l) => l.code === 'PODKIT_ERR_RELOAD' || l.code === 'PODKIT_ERR_TLS_MATERIAL');
  writeFileSync(pki.server.key, keyCopy);

  const cmdline = readFileSync(`/proc/${proxy.pid}/cmdline`, 'utf8');
  const everything = [
    proxy.transcript(),
    ...proxy.logs.map((l) => JSON.stringify(l)),
    await metrics(proxy),
    cmdline,
  ].join('\n');
  const strangerPieces = keyPieces(stranger.key);
  t.same(leaks(everything, pieces), [], 'the served key');
  t.same(leaks(everything, strangerPieces), [], 'the refused key');
  t.match(cmdline, /--key-file/, 'the command line names the file');

  const help = await runPodkit(['tls-proxy', '--help']);
  t.same(leaks(help.stdout + help.stderr, pieces), [], '--help');

  // A start that fails on the key: the termination log says why without the key.
  const terminationLog = join(pki.dir, 'termination-log-bad-key');
  const failed = await runPodkit([
    'tls-proxy',
    '--cert-file',
    pki.server.chain,
    '--key-file',
    stranger.key,
    '--termination-log',
    terminationLog,
  ]);
  t.equal(failed.code, 2);
  const written = readFileSync(terminationLog, 'utf8');
  t.match(written, /does not belong to the certificate/);
  t.same(
    leaks(written + failed.stdout + failed.stderr, strangerPieces),
    [],
    'the termination log and output',
  );
});
