import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** A self-signed certificate for localhost made with openssl, and the command that makes a new one in place. */
export function selfSignedCertificate(dir: string): { cert: string; key: string; remake: string } {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  const args = (keyOut: string, certOut: string) => [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '7'],
    ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ...['-keyout', keyOut, '-out', certOut],
  ];
  if (spawnSync('openssl', args(key, cert), { stdio: 'ignore' }).status !== 0) {
    throw new Error('openssl could not make the demo certificate');
  }
  const remake = `openssl ${args(`${key}.new`, `${cert}.new`).join(' ')} && mv ${key}.new ${key} && mv ${cert}.new ${cert}`;
  return { cert, key, remake };
}
