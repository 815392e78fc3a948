/**
 * The certificate, key and client CA as a checked unit. A pair is accepted only when every file parses
 * and the key belongs to the certificate, so a half-rotated Secret (new certificate, old key) is refused
 * instead of breaking every handshake. The PEM text is kept (workers build their own contexts from it)
 * but never logged: only file names, fingerprints and dates are.
 */

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { parseSubjectAltName } from './client-identity.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile: string | undefined;
}

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  caPem: string | undefined;
  /** SHA-256 of the leaf certificate, `AA:BB:...`. */
  fingerprint: string;
  /** Of the client CA bundle, so a CA-only rotation is noticed too. */
  caFingerprint: string | undefined;
  subject: string;
  /** The certificate's first URI SAN (a SPIFFE ID), sent as XFCC `By`. */
  uriSan: string | undefined;
  notAfter: number;
}

export type TlsFileRole = 'cert' | 'key' | 'ca';

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
  const [certPem, keyPem, caPem] = await Promise.all([
    readPem('cert', files.certFile),
    readPem('key', files.keyFile),
    files.clientCaFile === undefined ? undefined : readPem('ca', files.clientCaFile),
  ]);
  return checkTlsMaterial(files, certPem, keyPem, caPem);
}

export function checkTlsMaterial(
  files: TlsFiles,
  certPem: string,
  keyPem: string,
  caPem: string | undefined,
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
    caFingerprint = parseCertificate('ca', files.clientCaFile, caPem, 'CA certificate').fingerprint256;
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
    fingerprint: leaf.fingerprint256,
    caFingerprint,
    subject: leaf.subject.replace(/\n/g, ', '),
    uriSan: parseSubjectAltName(leaf.subjectAltName ?? '').find(([type]) => type === 'URI')?.[1],
    notAfter: Date.parse(leaf.validTo),
  };
}

/** True when the files now hold something other than what is being served. */
export function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.fingerprint === b.fingerprint && a.caFingerprint === b.caFingerprint && a.keyPem === b.keyPem;
}

export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return {
    cert: material.certPem,
    key: material.keyPem,
    ...(material.caPem === undefined ? {} : { ca: material.caPem }),
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
