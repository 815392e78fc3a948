/**
 * The TLS side shared by both modes: the server options (TLS 1.2+, ALPN, client certificates), hot
 * certificate swaps, the client identity worked out once per connection, and handshake failures sorted
 * into the fixed reasons of the metric.
 */

import {
  createServer,
  type SecureContextOptions,
  type Server,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls';
import { clientAddressOf } from '../../../lib/http-proxy/headers.js';
import { connectionAddresses } from './accept-proxy.js';
import {
  type ClientIdentity,
  clientIdentity,
  isAllowed,
  oddDnsName,
  type PeerCertificateLike,
} from './client-identity.js';
import type { ProxyConfig } from './config.js';
import type { HandshakeFailureReason } from './metrics.js';
import { secureContextOptions, type TlsMaterial } from './tls-material.js';

/** What the proxy knows about a client connection, stored on its TLS socket. */
export interface ConnectionState {
  clientAddress: string;
  identity: ClientIdentity | undefined;
  /** Set when the client certificate is missing, unverified or not allowed: requests are refused. */
  refusal: { reason: HandshakeFailureReason; message: string } | undefined;
}

export const kConnection = Symbol('podkit.tls-proxy.connection');

export type StatefulSocket = TLSSocket & { [kConnection]?: ConnectionState };

export interface TlsServerOptions {
  config: ProxyConfig;
  material: TlsMaterial;
  /** 48 bytes shared by all workers, so a session resumed on another worker still works. */
  ticketKeys: Buffer;
  alpn: string[] | undefined;
  onSecureConnection(socket: StatefulSocket, state: ConnectionState): void;
  onHandshakeFailure(reason: HandshakeFailureReason, socket: TLSSocket, err: Error): void;
}

/** What a TLS server serves with: the checked files and the session ticket keys. */
export interface TlsState {
  material: TlsMaterial;
  /** 48 bytes; the same in every worker, so a session resumed on another worker still works. */
  ticketKeys: Buffer;
}

export interface ProxyTlsServer {
  readonly server: Server;
  setTls(state: TlsState): void;
}

export function createTlsServer(options: TlsServerOptions): ProxyTlsServer {
  const { config } = options;
  const allowed = new Set(config.allowSubjects);
  let by = options.material.uriSan;
  const settings = (material: TlsMaterial, ticketKeys: Buffer): TlsOptions & SecureContextOptions => ({
    ...secureContextOptions(material),
    minVersion: config.minTlsVersion,
    ciphers: config.ciphers,
    honorCipherOrder: true,
    ticketKeys,
    sessionTimeout: 300,
  });
  const server = createServer({
    ...settings(options.material, options.ticketKeys),
    ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
    requestCert: config.clientAuth !== 'none',
    // Verification is judged per connection below: l7 then answers with a clear HTTP error instead of
    // a reset, and l4 closes the connection.
    rejectUnauthorized: false,
    handshakeTimeout: config.handshakeTimeoutMs,
  });
  server.on('secureConnection', (socket: StatefulSocket) => {
    const state: ConnectionState = {
      clientAddress: clientAddressOf(connectionAddresses(socket).sourceAddress),
      identity: undefined,
      refusal: undefined,
    };
    if (config.clientAuth !== 'none') judgeClientCertificate(socket, state, config, allowed, by);
    socket[kConnection] = state;
    options.onSecureConnection(socket, state);
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    options.onHandshakeFailure(handshakeFailureReason(err), socket, err);
    // With a tlsClientError listener node leaves the socket open on a handshake timeout: a client
    // that stalls mid-handshake would keep its connection slot for ever.
    socket.destroy();
  });
  return {
    server,
    setTls({ material, ticketKeys }) {
      // setSecureContext resets every option it is not given, so it gets the full set each time.
      server.setSecureContext(settings(material, ticketKeys));
      by = material.uriSan;
    },
  };
}

function judgeClientCertificate(
  socket: TLSSocket,
  state: ConnectionState,
  config: ProxyConfig,
  allowed: ReadonlySet<string>,
  by: string | undefined,
): void {
  const peer = socket.getPeerCertificate() as PeerCertificateLike;
  const presented = peer !== null && typeof peer === 'object' && peer.fingerprint256 !== undefined;
  if (!presented) {
    if (config.clientAuth === 'require') {
      state.refusal = { reason: 'client_cert_missing', message: 'a client certificate is required' };
    }
    return;
  }
  if (!socket.authorized) {
    const why = String(socket.authorizationError ?? 'unverified');
    state.refusal = {
      reason: 'client_cert_unverified',
      message: `the client certificate was not accepted (${why})`,
    };
    return;
  }
  const identity = clientIdentity(peer, by);
  const odd = oddDnsName(identity);
  if (odd !== undefined) {
    // Quoting keeps it out of other XFCC fields, but no CA should sign such a name: refuse the client.
    state.refusal = {
      reason: 'client_cert_denied',
      message: `the client certificate has a DNS name with characters outside the hostname set (${JSON.stringify(odd)})`,
    };
    return;
  }
  if (!isAllowed(identity, allowed)) {
    state.refusal = {
      reason: 'client_cert_denied',
      message: 'the client certificate identity is not allowed',
    };
    return;
  }
  state.identity = identity;
}

export function handshakeFailureReason(err: Error & { code?: string }): HandshakeFailureReason {
  const code = err.code ?? '';
  if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' || /VERSION|PROTOCOL_VERSION/.test(code))
    return 'protocol_version';
  if (code === 'ERR_SSL_NO_SHARED_CIPHER') return 'no_shared_cipher';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT' || /timed? ?out/i.test(err.message)) return 'timeout';
  return 'other';
}
