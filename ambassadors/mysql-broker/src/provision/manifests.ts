/**
 * The objects `--provision` creates for a missing Service: a Secret with generated credentials, a
 * headless Service and a one-replica StatefulSet with a volume claim template. Names are derived from
 * the Service name only, so every ambassador computes the same names and the API's create-by-name is
 * the lock: the first create wins, every other one gets 409 AlreadyExists and reuses the object.
 *
 * No owner references: the Secret must outlive the StatefulSet, because the retained volume's data can
 * only be opened with the password in it. Everything carries `app.kubernetes.io/managed-by: podkit` and
 * `app.kubernetes.io/instance: <service>`, which is how to find (and delete) it.
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

export function secretName(service: string): string {
  return `${service}-credentials`;
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

export function credentialsSecret(spec: ProvisionSpec, passwords: { root: string; app: string }): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName(spec.service),
      namespace: spec.namespace,
      labels: managedLabels(spec.service),
    },
    type: 'Opaque',
    stringData: {
      // Read by the mariadb image's entrypoint on first start.
      MARIADB_ROOT_PASSWORD: passwords.root,
      MARIADB_USER: appUser,
      MARIADB_PASSWORD: passwords.app,
      MARIADB_DATABASE: appDatabase,
      // For the app (envFrom or secretKeyRef): it connects to the ambassador, never to the pods.
      username: appUser,
      password: passwords.app,
      database: appDatabase,
      host: spec.appHost,
      port: String(spec.appPort),
    },
  };
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
  const fromSecret = (key: string) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: secretName(spec.service), key } },
  });
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
              env: ['MARIADB_ROOT_PASSWORD', 'MARIADB_USER', 'MARIADB_PASSWORD', 'MARIADB_DATABASE'].map(
                fromSecret,
              ),
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
