/**
 * The objects `--provision` creates for a missing Service: two Secrets with generated credentials (the
 * app's, which it mounts, and the root password, which only the database reads), a headless Service
 * and a one-replica StatefulSet with a volume claim template. Names are derived from the Service name
 * only, so every ambassador computes the same names and the API's create-by-name is the lock: the first
 * create wins, every other one gets 409 AlreadyExists and reuses the object.
 *
 * No owner references: the Secrets must outlive the StatefulSet, because the retained volume's data can
 * only be opened with the passwords in them. Everything carries `app.kubernetes.io/managed-by: podkit`
 * and `app.kubernetes.io/instance: <service>`, which is how to find (and delete) it.
 */

import type { V1Secret, V1Service, V1StatefulSet } from '@kubernetes/client-node';

export interface ProvisionSpec {
  service: string;
  namespace: string;
  image: string;
  /** A volume size, e.g. 1Gi. */
  storage: string;
  storageClass?: string;
  /** Where the app reaches the database: the ambassador's own listener. */
  appHost: string;
  appPort: number;
}

export const appUser = 'app';
export const appDatabase = 'app';

/** The app's Secret: its user's credentials and where to connect, nothing more. */
export function secretName(service: string): string {
  return `${service}-credentials`;
}

/** The database's root password: read by the image at first start, never given to the app. */
export function rootSecretName(service: string): string {
  return `${service}-root`;
}

export function managedLabels(service: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'mysql',
    'app.kubernetes.io/instance': service,
    'app.kubernetes.io/component': 'database',
    'app.kubernetes.io/managed-by': 'podkit',
  };
}

/** What selects the pods: stable labels only (a selector is immutable). */
function podSelector(service: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'mysql', 'app.kubernetes.io/instance': service };
}

function secret(spec: ProvisionSpec, name: string, data: Record<string, string>): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: spec.namespace, labels: managedLabels(spec.service) },
    type: 'Opaque',
    stringData: data,
  };
}

/** For the app (envFrom or secretKeyRef): it connects to the ambassador, never to the pods. */
export function credentialsSecret(spec: ProvisionSpec, appPassword: string): V1Secret {
  return secret(spec, secretName(spec.service), {
    username: appUser,
    password: appPassword,
    database: appDatabase,
    host: spec.appHost,
    port: String(spec.appPort),
  });
}

export function rootSecret(spec: ProvisionSpec, rootPassword: string): V1Secret {
  return secret(spec, rootSecretName(spec.service), { username: 'root', password: rootPassword });
}

export function headlessService(spec: ProvisionSpec): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: spec.service, namespace: spec.namespace, labels: managedLabels(spec.service) },
    spec: {
      clusterIP: 'None',
      selector: podSelector(spec.service),
      ports: [{ name: 'mysql', port: 3306, targetPort: 'mysql' }],
      // Endpoints appear only for ready pods: the ambassador routes to ready endpoints only anyway.
      publishNotReadyAddresses: false,
    },
  };
}

const mysqlUid = 999; // the mysql user of the official mariadb and mysql images

export function databaseStatefulSet(spec: ProvisionSpec): V1StatefulSet {
  const fromSecret = (name: string, secret: string, key: string) => ({
    name,
    valueFrom: { secretKeyRef: { name: secret, key } },
  });
  const app = secretName(spec.service);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: spec.service, namespace: spec.namespace, labels: managedLabels(spec.service) },
    spec: {
      serviceName: spec.service,
      replicas: 1,
      selector: { matchLabels: podSelector(spec.service) },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: {
        metadata: { labels: managedLabels(spec.service) },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: mysqlUid,
            runAsGroup: mysqlUid,
            fsGroup: mysqlUid,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'mysql',
              image: spec.image,
              ports: [{ name: 'mysql', containerPort: 3306 }],
              // Read by the mariadb image's entrypoint on first start.
              env: [
                fromSecret('MARIADB_ROOT_PASSWORD', rootSecretName(spec.service), 'password'),
                fromSecret('MARIADB_USER', app, 'username'),
                fromSecret('MARIADB_PASSWORD', app, 'password'),
                fromSecret('MARIADB_DATABASE', app, 'database'),
              ],
              // A TCP probe works for any MySQL image; the ambassador checks the MySQL greeting itself.
              readinessProbe: { tcpSocket: { port: 'mysql' }, periodSeconds: 5 },
              resources: { requests: { cpu: '100m', memory: '256Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'data', mountPath: '/var/lib/mysql' },
                { name: 'run', mountPath: '/run/mysqld' },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'run', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: managedLabels(spec.service) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: spec.storage } },
            ...(spec.storageClass ? { storageClassName: spec.storageClass } : {}),
          },
        },
      ],
    },
  };
}
