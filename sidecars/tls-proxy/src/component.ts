/**
 * podkit tls-proxy: HTTPS (or TLS for any TCP protocol) in front of a service that only listens on
 * localhost. Start-up checks the certificate files (a bad set exits 2 naming the file), then serves
 * either in this process or through --workers worker processes; the lifecycle, admin server,
 * certificate reloads and upstream readiness always live here.
 */

import { defineComponent } from '../../../lib/component.js';
import { ConfigError } from '../../../lib/errors.js';
import { probeUpstream } from '../../../lib/http-proxy/upstream-probe.js';
import { CertificateReloader, warnIfExpired } from './cert-reloader.js';
import { checkOptions, proxyConfig, type TlsProxyOptions } from './config.js';
import { createDataPlane } from './data-plane.js';
import { createCertificateMetrics, createDataPlaneMetrics } from './metrics.js';
import { tlsProxyOptions } from './options.js';
import { TlsStateKeeper } from './session-tickets.js';
import { loadTlsMaterial, type TlsFiles, type TlsMaterial, TlsMaterialError } from './tls-material.js';
import type { TlsState } from './tls-server.js';
import { startWorkers } from './workers.js';

export const tlsProxy = defineComponent({
  options: tlsProxyOptions,
  check: checkOptions,
  async start(options, ctx) {
    const { log, health } = ctx;
    const config = proxyConfig(options);
    const files: TlsFiles = {
      certFile: options.certFile,
      keyFile: options.keyFile,
      clientCaFile: options.clientCaFile,
      crlFile: options.crlFile,
    };
    const material = await loadAtStart(files);
    warnIfExpired(material, log);
    log.info(
      {
        subject: material.subject,
        fingerprint: material.fingerprint,
        notAfter: new Date(material.notAfter).toISOString(),
      },
      'certificate loaded',
    );

    let reloader: CertificateReloader | undefined;
    const certificates = createCertificateMetrics(
      ctx.registry,
      () => (reloader?.material ?? material).notAfter,
    );
    const probe = probeUpstream(config.upstream, health, log, { condition: 'upstream' });
    let serving: {
      setTls(state: TlsState): Promise<void> | void;
      close(graceMs: number): Promise<void>;
    };
    // Made once for every process: session tickets sealed by one worker must open on any other.
    const tlsState = new TlsStateKeeper(material, (state) => serving.setTls(state), log);
    const { ticketKeys } = tlsState.state;
    let addresses: { tls: string; redirect: string | undefined };
    try {
      if (options.workers === 1) {
        const plane = createDataPlane({
          config,
          material,
          ticketKeys,
          metrics: createDataPlaneMetrics(ctx.registry),
          log,
          onUpstreamRefused: () => probe.recheck(),
        });
        addresses = await plane.listen();
        serving = plane;
      } else {
        const workers = await startWorkers({
          count: options.workers,
          config,
          material,
          ticketKeys,
          log,
          logLevel: options.logLevel,
          readiness: health.readiness,
          registry: ctx.registry,
          onUpstreamRefused: () => probe.recheck(),
        });
        addresses = workers.addresses;
        serving = {
          setTls: (next) => workers.setTls(next),
          close: (graceMs) => workers.close(graceMs, options.shutdownTimeout),
        };
      }
    } catch (err) {
      probe.close();
      throw err;
    }
    log.info(
      { listener: 'tls', address: addresses.tls, mode: config.mode, workers: options.workers },
      'listening',
    );
    if (addresses.redirect) log.info({ listener: 'redirect', address: addresses.redirect }, 'listening');

    reloader = new CertificateReloader({
      files,
      initial: material,
      apply: (next) => tlsState.setMaterial(next),
      reloads: certificates.reloads,
      log,
    });
    await reloader.watch(options.certPollInterval);
    tlsState.rotateEvery(options.ticketKeyRotation);
    const activeReloader = reloader;

    return {
      async close() {
        tlsState.close();
        await activeReloader.close();
        probe.close();
        await serving.close(tunnelGrace(options));
      },
      async reload() {
        await activeReloader.reload('signal');
      },
    };
  },
});

/** Bad files at start are configuration errors (exit 2) naming the option and the file. */
async function loadAtStart(files: TlsFiles): Promise<TlsMaterial> {
  try {
    return await loadTlsMaterial(files);
  } catch (err) {
    if (!(err instanceof TlsMaterialError)) throw err;
    const option = ({ cert: 'certFile', key: 'keyFile', ca: 'clientCaFile', crl: 'crlFile' } as const)[
      err.role
    ];
    const flag = {
      certFile: '--cert-file',
      keyFile: '--key-file',
      clientCaFile: '--client-ca-file',
      crlFile: '--crl-file',
    }[option];
    throw new ConfigError(option, `${flag} ${err.message}`);
  }
}

/**
 * Long-lived tunnels (l4 connections, WebSockets) have no request boundary at which to stop, so they
 * get most of --shutdown-timeout to end on their own and are then closed, leaving time to exit 0.
 */
function tunnelGrace(options: TlsProxyOptions): number {
  return Math.max(0, options.shutdownTimeout - Math.min(2000, options.shutdownTimeout / 5));
}
