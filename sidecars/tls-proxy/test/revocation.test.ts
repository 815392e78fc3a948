/**
 * Client trust that changes while the proxy runs, with real resumed TLS sessions: a session resumed
 * after the client CA changed must not keep its old identity, ticket keys rotate on their schedule,
 * and --crl-file (hot reloaded) refuses a revoked client certificate, resumed session or not.
 */

import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import t from 'tap';
import { type CertFiles, CertificateAuthority, writeCert } from '../../../test/support/certs.js';
import { runPodkit } from '../../../test/support/process.js';
import { makePki, startProxy, startUpstream } from './helpers.js';

const pki = await makePki();
const upstream = await startUpstream(t);
const ca = readFileSync(pki.caFile);
const clientIssued = { certPem: readFileSync(pki.client.cert, 'utf8') };

interface Exchange {
  status: number;
  reused: boolean;
  session: Buffer | undefined;
}

/** One HTTP/1.1 request on its own TLS connection, offering `session` for resumption. */
function request(
  port: number,
  client: CertFiles,
  options: { session?: Buffer | undefined; maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    let answer = '';
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      cert: readFileSync(client.cert),
      key: readFileSync(client.key),
      maxVersion: options.maxVersion ?? 'TLSv1.3',
      ...(options.session ? { session: options.session } : {}),
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in time')));
    socket.on('session', (ticket: Buffer) => {
      session = ticket;
    });
    socket.once('secureConnect', () => {
      socket.write('GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.once('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      resolve({ status, reused: socket.isSessionReused(), session });
    });
    socket.once('error', reject);
  });
}

for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
  t.test(
    `${maxVersion}: a session resumed after the client CA changed does not keep its identity`,
    async (t) => {
      const caFile = join(pki.dir, `ca-${maxVersion}.crt`);
      copyFileSync(pki.caFile, caFile);
      const proxy = await startProxy(t, pki, upstream.url, [
        '--client-auth',
        'require',
        '--client-ca-file',
        caFile,
      ]);
      const first = await request(proxy.port, pki.client, { maxVersion });
      t.equal(first.status, 200);
      t.ok(first.session, 'a session ticket was issued');
      const resumed = await request(proxy.port, pki.client, { maxVersion, session: first.session });
      t.same([resumed.status, resumed.reused], [200, true], 'resumption works while the CA is the same');

      const replacement = await CertificateAuthority.create('the new client CA');
      writeFileSync(caFile, replacement.certPem);
      await proxy.waitForLog((l) => l.msg === 'certificate reloaded' && l.trigger !== 'signal');
      const after = await request(proxy.port, pki.client, { maxVersion, session: first.session });
      t.equal(after.reused, false, 'the old ticket no longer resumes');
      t.equal(after.status, 403, 'the certificate is judged against the new CA');
      t.ok(
        proxy.logs.some(
          (l) => l.msg === 'session ticket keys rotated: resumed sessions need a full handshake',
        ),
        'the rotation is logged',
      );
    },
  );
}

t.test('--ticket-key-rotation: tickets sealed before a rotation do not resume after it', async (t) => {
  const proxy = await startProxy(t, pki, upstream.url, [
    '--ticket-key-rotation',
    '1s',
    '--log-level',
    'debug',
  ]);
  // Wait for one rotation first, so the ticket below is sealed with a key the next rotation replaces.
  await proxy.waitForLog('session ticket keys rotated');
  const first = await request(proxy.port, pki.client);
  t.ok(first.session, 'a session ticket was issued');
  const resumed = await request(proxy.port, pki.client, { session: first.session });
  const rotations = proxy.logs.filter((l) => l.msg === 'session ticket keys rotated').length;
  if (rotations === 1) t.ok(resumed.reused, 'resumed before the next rotation');
  await proxy.waitForLog(
    (l) =>
      l.msg === 'session ticket keys rotated' && proxy.logs.filter((m) => m.msg === l.msg).length > rotations,
  );
  const after = await request(proxy.port, pki.client, { session: first.session });
  t.equal(after.status, 200);
  t.equal(after.reused, false, 'a full handshake after the rotation');
});

t.test('--crl-file: a revoked client certificate is refused; the CRL is reloaded', async (t) => {
  const crlFile = join(pki.dir, 'clients.crl');
  writeFileSync(crlFile, await pki.ca.crl());
  const other = await pki.ca.issue({ commonName: 'other-client', usage: 'client' });
  const otherFiles = await writeCert(pki.dir, 'other-client', other);
  const proxy = await startProxy(t, pki, upstream.url, [
    '--client-auth',
    'require',
    '--client-ca-file',
    pki.caFile,
    '--crl-file',
    crlFile,
  ]);
  const first = await request(proxy.port, pki.client);
  t.equal(first.status, 200, 'not revoked yet');

  writeFileSync(crlFile, await pki.ca.crl([clientIssued]));
  await proxy.waitForLog((l) => l.msg === 'certificate reloaded' && l.trigger !== 'signal');
  const revoked = await request(proxy.port, pki.client);
  t.equal(revoked.status, 403, 'the revoked certificate is refused');
  const resumed = await request(proxy.port, pki.client, { session: first.session });
  t.same([resumed.status, resumed.reused], [403, false], 'and cannot come back through an older session');
  t.equal((await request(proxy.port, otherFiles)).status, 200, 'a certificate not on the list is served');
});

t.test(
  '--crl-file: refused at start (exit 2, one line) when unreadable as a CRL or without a CA',
  async (t) => {
    const junk = join(pki.dir, 'junk.crl');
    writeFileSync(junk, 'not a crl\n');
    const base = ['tls-proxy', '--cert-file', pki.server.chain, '--key-file', pki.server.key];
    const cases: [string[], RegExp][] = [
      [
        ['--client-auth', 'require', '--client-ca-file', pki.caFile, '--crl-file', junk],
        /--crl-file .*junk\.crl: no PEM CRL found/,
      ],
      [['--crl-file', junk], /--crl-file needs --client-ca-file/],
    ];
    for (const [args, message] of cases) {
      const result = await runPodkit([...base, ...args]);
      t.equal(result.code, 2);
      t.match(result.stderr, message);
      t.equal(result.stderr.trim().split('\n').length, 1);
    }
  },
);
