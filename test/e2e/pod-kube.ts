/**
 * The Kubernetes API the played pod's config-sync watches: the fake kube-apiserver (test/support/fake-kube)
 * over HTTPS with a certificate for host.containers.internal from the test CA, and a bearer token. It
 * listens on loopback; a forwarder of the test's own carries the pod's connections to it from the pod
 * network's gateway (where host.containers.internal points), never from a public address. config-sync
 * gets a kubeconfig naming that server, its CA and the token, as a Secret file (options.kubeconfig).
 */

import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { stringify } from 'yaml';
import type { CertificateAuthority } from '../support/certs.js';
import { type FakeKube, startFakeKube } from '../support/fake-kube/index.js';
import type { Teardown } from '../support/process.js';

export const kubeNamespace = 'legacy';

export interface PodKube {
  kube: FakeKube;
  /** The kubeconfig config-sync reads in the pod. */
  kubeconfig: string;
  /** Starts carrying the pod's connections from gateway:port to the API server. */
  forwardFrom(gateway: string): Promise<void>;
}

export async function startPodKube(t: Teardown, ca: CertificateAuthority, port: number): Promise<PodKube> {
  const server = await ca.issue({ commonName: 'host.containers.internal' });
  const token = `e2e-${randomBytes(16).toString('hex')}`;
  const kube = await startFakeKube(t, {
    token,
    tls: { chainPem: server.chainPem, keyPem: server.keyPem, caPem: ca.certPem },
  });
  kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: kubeNamespace } });
  const kubeconfig = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'e2e',
        cluster: {
          server: `https://host.containers.internal:${port}`,
          'certificate-authority-data': Buffer.from(ca.certPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'config-sync', user: { token } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'config-sync', namespace: kubeNamespace } }],
    'current-context': 'e2e',
  });

  let forwarder: Server | undefined;
  const sockets = new Set<Socket>();
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (forwarder ? forwarder.close(() => resolve()) : resolve()));
  });
  const forwardFrom = (gateway: string) =>
    new Promise<void>((resolve, reject) => {
      forwarder = createServer((client) => {
        const upstream = createConnection(kube.port, '127.0.0.1');
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      forwarder.once('error', reject);
      forwarder.listen(port, gateway, () => resolve());
    });
  return { kube, kubeconfig, forwardFrom };
}
