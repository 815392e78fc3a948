/**
 * Real X.509 certificates made per test run: a CA, servers, clients, expired and wrong-host
 * certificates, written as PEM files. ECDSA P-256 keys keep generation to milliseconds.
 */

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 86_400_000;

export interface IssuedCert {
  certPem: string;
  keyPem: string;
  /** This certificate followed by its issuer's (what a server presents). */
  chainPem: string;
  /** SHA-256 of the certificate, hex. */
  fingerprint: string;
  notAfter: Date;
}

export interface CertFiles {
  cert: string;
  key: string;
  chain: string;
}

export interface IssueOptions {
  commonName: string;
  /**
   * DNS names and IP addresses for the subjectAltName, or typed as `dns:`, `ip:`, `uri:`, `email:` (any
   * bytes, to make hostile names); default: the common name.
   */
  altNames?: string[];
  usage?: 'server' | 'client' | 'both';
  organizationalUnit?: string;
  notBefore?: Date;
  notAfter?: Date;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function pemKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function distinguishedName(commonName: string, organizationalUnit?: string): string {
  const escapeValue = (value: string) => value.replace(/([,+"\\<>;=])/g, '\\$1');
  return `CN=${escapeValue(commonName)}${organizationalUnit ? `, OU=${escapeValue(organizationalUnit)}` : ''}, O=podkit tests`;
}

const altNameTypes = ['dns', 'ip', 'url', 'email'] as const;

function altName(entry: string): { type: (typeof altNameTypes)[number]; value: string } {
  const typed = /^(dns|ip|uri|email):(.*)$/s.exec(entry);
  if (typed) {
    const type = typed[1] === 'uri' ? 'url' : (typed[1] as 'dns' | 'ip' | 'email');
    return { type, value: typed[2] as string };
  }
  return { type: isIP(entry) ? 'ip' : 'dns', value: entry };
}

export class CertificateAuthority {
  private constructor(
    readonly cert: x509.X509Certificate,
    private readonly keys: webcrypto.CryptoKeyPair,
    readonly certPem: string,
  ) {}

  static async create(commonName = 'podkit test CA'): Promise<CertificateAuthority> {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: distinguishedName(commonName),
      keys,
      signingAlgorithm: algorithm,
      notBefore: new Date(Date.now() - day),
      notAfter: new Date(Date.now() + 30 * day),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new CertificateAuthority(cert, keys, cert.toString('pem'));
  }

  async issue(options: IssueOptions): Promise<IssuedCert> {
    const keys = await keyPair();
    const usage = options.usage ?? 'server';
    const ekus = [
      ...(usage === 'client' ? [] : [x509.ExtendedKeyUsage.serverAuth]),
      ...(usage === 'server' ? [] : [x509.ExtendedKeyUsage.clientAuth]),
    ];
    const altNames = (options.altNames ?? [options.commonName]).map(altName);
    const notAfter = options.notAfter ?? new Date(Date.now() + 7 * day);
    const cert = await x509.X509CertificateGenerator.create({
      subject: distinguishedName(options.commonName, options.organizationalUnit),
      issuer: this.cert.subject,
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      signingAlgorithm: algorithm,
      notBefore: options.notBefore ?? new Date(Date.now() - day),
      notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(ekus),
        new x509.SubjectAlternativeNameExtension(altNames),
        await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey),
      ],
    });
    const certPem = cert.toString('pem');
    const fingerprint = Buffer.from(await cert.getThumbprint('SHA-256')).toString('hex');
    return {
      certPem,
      keyPem: await pemKey(keys.privateKey),
      chainPem: `${certPem}\n${this.certPem}`,
      fingerprint,
      notAfter,
    };
  }

  /** A PEM CRL signed by this CA revoking `revoked` (possibly none), valid for a week. */
  async crl(revoked: Pick<IssuedCert, 'certPem'>[] = []): Promise<string> {
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.cert.subject,
      thisUpdate: new Date(Date.now() - day),
      nextUpdate: new Date(Date.now() + 7 * day),
      signingAlgorithm: algorithm,
      signingKey: this.keys.privateKey,
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey)],
      entries: revoked.map((cert) => ({
        serialNumber: new x509.X509Certificate(cert.certPem).serialNumber,
        revocationDate: new Date(Date.now() - 60_000),
      })),
    });
    // OpenSSL reads only the `X509 CRL` label, not the library's `CRL`.
    return x509.PemConverter.encode(crl.rawData, 'X509 CRL');
  }

  /** A certificate whose validity ended yesterday. */
  expired(commonName = 'localhost'): Promise<IssuedCert> {
    return this.issue({
      commonName,
      altNames: [commonName, '127.0.0.1'],
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() - day),
    });
  }

  /** A server certificate for localhost and 127.0.0.1, the usual test target. */
  localhost(notAfter?: Date): Promise<IssuedCert> {
    return this.issue({
      commonName: 'localhost',
      altNames: ['localhost', '127.0.0.1', '::1'],
      ...(notAfter ? { notAfter } : {}),
    });
  }
}

/** Writes a certificate's PEM files into `dir` as `<name>.crt`, `<name>.key` and `<name>-chain.crt`. */
export async function writeCert(dir: string, name: string, cert: IssuedCert): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = {
    cert: join(dir, `${name}.crt`),
    key: join(dir, `${name}.key`),
    chain: join(dir, `${name}-chain.crt`),
  };
  await writeFile(files.cert, cert.certPem);
  await writeFile(files.key, cert.keyPem, { mode: 0o600 });
  await writeFile(files.chain, cert.chainPem);
  return files;
}
