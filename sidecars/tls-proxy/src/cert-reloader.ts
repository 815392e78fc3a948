/**
 * Certificate rotation without dropping connections. The files are watched (lib/file-watch, which sees
 * the kubelet's `..data` symlink swap), polled as a backstop, and re-read on SIGHUP. A new set is
 * checked as a whole (tls-material) before it replaces the served one; open connections keep the
 * context they were made with, new handshakes get the new one. A refused set is logged with its code
 * and counted, and the previous pair keeps serving.
 */

import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { ErrorCode } from '../../../lib/errors.js';
import { type FileWatch, watchFiles } from '../../../lib/file-watch.js';
import { loadTlsMaterial, sameMaterial, type TlsFiles, type TlsMaterial } from './tls-material.js';

export type ReloadTrigger = 'signal' | 'file' | 'poll';

export interface CertificateReloaderOptions {
  files: TlsFiles;
  initial: TlsMaterial;
  /** Puts a checked set into service (every worker, when there are several). */
  apply(material: TlsMaterial): Promise<void> | void;
  reloads: Counter<'result'>;
  log: Logger;
}

export class CertificateReloader {
  #material: TlsMaterial;
  #watch: FileWatch | undefined;
  #running: Promise<unknown> = Promise.resolve();
  /**
   * The last refusal seen by a file event or poll: one broken set makes several events (a swap, then
   * the old version's removal) and may sit there for many polls, but it is one refusal to report.
   */
  #lastFailure: string | undefined;

  constructor(readonly options: CertificateReloaderOptions) {
    this.#material = options.initial;
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  async watch(pollIntervalMs: number): Promise<void> {
    const { files } = this.options;
    const paths = [
      files.certFile,
      files.keyFile,
      ...(files.clientCaFile ? [files.clientCaFile] : []),
      ...(files.crlFile ? [files.crlFile] : []),
    ];
    this.#watch = await watchFiles(
      paths,
      (reason) => {
        this.reload(reason === 'event' ? 'file' : 'poll').catch(() => {
          // Logged and counted in reload(); the previous pair keeps serving.
        });
      },
      { debounceMs: 25, pollIntervalMs },
    );
  }

  /** Reloads one at a time, in order: a burst of file events cannot apply an older set last. */
  reload(trigger: ReloadTrigger): Promise<'changed' | 'unchanged'> {
    const next = this.#running.then(
      () => this.#reloadOnce(trigger),
      () => this.#reloadOnce(trigger),
    );
    this.#running = next.catch(() => {});
    return next;
  }

  async #reloadOnce(trigger: ReloadTrigger): Promise<'changed' | 'unchanged'> {
    const { log, reloads } = this.options;
    let material: TlsMaterial;
    try {
      material = await loadTlsMaterial(this.options.files);
    } catch (err) {
      const message = (err as Error).message;
      const repeated = trigger !== 'signal' && message === this.#lastFailure;
      if (trigger !== 'signal') this.#lastFailure = message;
      if (!repeated) {
        reloads.inc({ result: 'failure' });
        // SIGHUP failures are logged by the lifecycle, which also counts podkit_reloads_total.
        if (trigger !== 'signal') {
          log.error(
            { code: ErrorCode.TLS_MATERIAL, trigger, err: message },
            'certificate reload refused; the previous certificate keeps serving',
          );
        }
      }
      throw err;
    }
    this.#lastFailure = undefined;
    if (sameMaterial(material, this.#material)) {
      if (trigger === 'signal') log.info({ fingerprint: material.fingerprint }, 'certificate unchanged');
      return 'unchanged';
    }
    await this.options.apply(material);
    const previous = this.#material;
    this.#material = material;
    reloads.inc({ result: 'success' });
    log.info(
      {
        trigger,
        subject: material.subject,
        fingerprint: material.fingerprint,
        previousFingerprint: previous.fingerprint,
        notAfter: new Date(material.notAfter).toISOString(),
      },
      'certificate reloaded',
    );
    warnIfExpired(material, log);
    return 'changed';
  }

  async close(): Promise<void> {
    await this.#watch?.close();
  }
}

export function warnIfExpired(material: TlsMaterial, log: Logger): void {
  if (material.notAfter <= Date.now()) {
    log.warn(
      { code: ErrorCode.TLS_MATERIAL, notAfter: new Date(material.notAfter).toISOString() },
      'the served certificate has expired',
    );
  }
}
