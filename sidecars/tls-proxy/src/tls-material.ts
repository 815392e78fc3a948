/**
 * The certificate, key and client CA as a checked unit. A pair is accepted only when every file parses
 * and the key belongs to the certificate, so a half-rotated Secret (new certificate, old key) is refused
 * instead of breaking every handshake. The PEM text is kept (workers build their own contexts from it)
 * but never logged: only file names, fingerprints and dates are.
 */

import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { parseSubjectAltName } from './client-identity.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile: string | undefined;
  crlFile?: string | undefined;
}

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  caPem: string | undefined;
  crlPem: string | undefined;
  /** SHA-256 of the leaf certificate, `AA:BB:...`. */
  fingerprint: string;
  /** SHA-256 of the client CA bundle's text, so a CA-only rotation is noticed too. */
  caFingerprint: string | undefined;
  /** Of the CRL file, so a new CRL is served (and noticed by clientTrust). */
  crlFingerprint: string | undefined;
  subject: string;
  /** The certificate's first URI SAN (a SPIFFE ID), sent as XFCC `By`. */
  uriSan: string | undefined;
  notAfter: number;
}

export type TlsFileRole = 'cert' | 'key' | 'ca' | 'crl';

/** A refused certificate, key or CA file: `file` and `role` name the culprit for logs and exit-2 messages. */
export class TlsMaterialError extends Error {
  constructor(
    readonly role: TlsFileRole,
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'TlsMaterialError';
  }
}

export async function loadTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const [certPem, keyPem, caPem, crlPem] = await Promise.all([
    readPem('cert', files.certFile),
    readPem('key', files.keyFile),
    files.clientCaFile === undefined ? undefined : readPem('ca', files.clientCaFile),
    files.crlFile === undefined ? undefined : readPem('crl', files.crlFile),
  ]);
  return checkTlsMaterial(files, certPem, keyPem, caPem, crlPem);
}

export function checkTlsMaterial(
  files: TlsFiles,
  certPem: string,
  keyPem: string,
  caPem: string | undefined,
  crlPem?: string,
): TlsMaterial {
  const leaf = parseCertificate('cert', files.certFile, certPem, 'certificate');
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new TlsMaterialError(
      'key',
      files.keyFile,
      `${files.keyFile}: not a PEM private key (${reason(err)})`,
    );
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsMaterialError(
      'key',
      files.keyFile,
      `${files.keyFile}: the private key does not belong to the certificate in ${files.certFile}`,
    );
  }
  let caFingerprint: string | undefined;
  if (caPem !== undefined && files.clientCaFile !== undefined) {
    parseCertificate('ca', files.clientCaFile, caPem, 'CA certificate');
    // Of the whole bundle: dropping the second CA of two is a change too.
    caFingerprint = createHash('sha256').update(caPem).digest('hex');
  }
  let crlFingerprint: string | undefined;
  if (crlPem !== undefined && files.crlFile !== undefined) {
    if (!crlPem.includes('-----BEGIN X509 CRL-----')) {
      throw new TlsMaterialError('crl', files.crlFile, `${files.crlFile}: no PEM CRL found`);
    }
    try {
      createSecureContext({ crl: crlPem });
    } catch (err) {
      throw new TlsMaterialError(
        'crl',
        files.crlFile,
        `${files.crlFile}: not a valid PEM CRL (${reason(err)})`,
      );
    }
    crlFingerprint = createHash('sha256').update(crlPem).digest('hex');
  }
  // The last check: OpenSSL's own view of the whole set (chain order, key type, CA bundle).
  try {
    createSecureContext({ cert: certPem, key: keyPem, ...(caPem === undefined ? {} : { ca: caPem }) });
  } catch (err) {
    throw new TlsMaterialError(
      'cert',
      files.certFile,
      `${files.certFile}: rejected by OpenSSL (${reason(err)})`,
    );
  }
  return {
    certPem,
    keyPem,
    caPem,
    crlPem,
    fingerprint: leaf.fingerprint256,
    caFingerprint,
    crlFingerprint,
    subject: leaf.subject.replace(/\n/g, ', '),
    uriSan: parseSubjectAltName(leaf.subjectAltName ?? '').find(([type]) => type === 'URI')?.[1],
    notAfter: Date.parse(leaf.validTo),
  };
}

/** True when the files now hold something other than what is being served. */
export function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.fingerprint === b.fingerprint && clientTrust(a) === clientTrust(b) && a.keyPem === b.keyPem;
}

/**
 * What decides which client certificates pass: the CA bundle and the CRL. When it changes, sessions
 * resumed from older tickets would keep identities it may now refuse, so the ticket keys change too.
 */
export function clientTrust(material: TlsMaterial): string {
  return `${material.caFingerprint ?? ''}/${material.crlFingerprint ?? ''}`;
}

export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return {
    cert: material.certPem,
    key: material.keyPem,
    ...(material.caPem === undefined ? {} : { ca: material.caPem }),
    ...(material.crlPem === undefined ? {} : { crl: material.crlPem }),
  };
}

async function readPem(role: TlsFileRole, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new TlsMaterialError(
      role,
      path,
      `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? reason(err)})`,
    );
  }
}

function parseCertificate(role: TlsFileRole, file: string, pem: string, what: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TlsMaterialError(role, file, `${file}: no PEM ${what} found`);
  }
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsMaterialError(role, file, `${file}: not a valid PEM ${what} (${reason(err)})`);
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
