import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import t from 'tap';
import { CertificateAuthority, writeCert } from './certs.js';

const ca = await CertificateAuthority.create();
const server = await ca.localhost();

async function handshake(
  serverCert: { certPem: string; keyPem: string },
  client: { servername?: string; cert?: { certPem: string; keyPem: string } } = {},
): Promise<{ error?: string; authorizedPeer?: string }> {
  const srv = createServer(
    {
      cert: serverCert.certPem,
      key: serverCert.keyPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      socket.end(
        socket.authorized ? String((socket.getPeerCertificate().subject as { CN?: string }).CN) : 'anonymous',
      );
    },
  );
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const socket: TLSSocket = connect({
      host: '127.0.0.1',
      port: (srv.address() as AddressInfo).port,
      ca: ca.certPem,
      servername: client.servername ?? 'localhost',
      ...(client.cert ? { cert: client.cert.certPem, key: client.cert.keyPem } : {}),
    });
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk;
    });
    try {
      await once(socket, 'end');
    } catch (err) {
      return { error: (err as NodeJS.ErrnoException).code ?? String(err) };
    }
    return { authorizedPeer: data };
  } finally {
    srv.close();
  }
}

t.test('a server certificate from the CA verifies for localhost', async (t) => {
  t.same(await handshake(server), { authorizedPeer: 'anonymous' });
});

t.test('a client certificate is verified by the server', async (t) => {
  const client = await ca.issue({ commonName: 'client-a', usage: 'client' });
  t.same(await handshake(server, { cert: client }), { authorizedPeer: 'client-a' });
});

t.test('expired and wrong-host certificates fail real verification', async (t) => {
  t.same(await handshake(await ca.expired()), { error: 'CERT_HAS_EXPIRED' });
  t.same(await handshake(await ca.issue({ commonName: 'wrong.example' })), {
    error: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  const stranger = await (await CertificateAuthority.create('another CA')).localhost();
  t.same(await handshake(stranger), { error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
});

t.test('PEM files are accepted by openssl', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-certs-'));
  const files = await writeCert(dir, 'server', server);
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  t.match(execFileSync('openssl', ['verify', '-CAfile', caFile, files.cert], { encoding: 'utf8' }), /: OK/);
  t.match(
    execFileSync('openssl', ['pkey', '-in', files.key, '-noout', '-text'], { encoding: 'utf8' }),
    /ASN1 OID: prime256v1/,
  );
  t.equal(server.fingerprint.length, 64);
});
