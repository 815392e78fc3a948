/**
 * The database the played pod's mysql-broker and db-health reach: a private MariaDB of the test
 * (test/support/mariadb.ts, so the test can stop it), listening on loopback for the test and on the
 * gateway address of the pod's bridge network, never on a public address. A kube-played pod reaches the
 * host as host.containers.internal, which podman 4.3 maps to that gateway in each container's /etc/hosts. The MariaDB is on the host, not in a container: no MariaDB image can be pulled
 * here, and a host server is one the test can stop at a moment of its choosing.
 */

import { podman } from '../support/images.js';
import { type MariaDb, startMariaDb } from '../support/mariadb.js';
import type { Teardown } from '../support/process.js';

export interface PodDatabase {
  db: MariaDb;
  /** The bridge gateway the server listens on (besides 127.0.0.1). */
  gateway: string;
  /** The app's user and password (also db-health's); the broker's health user has none. */
  user: string;
  password: string;
  database: string;
}

/**
 * The played pod's network, from its infra container: kube play puts pods on a network of its own
 * (podman-default-kube-network, not the default `podman`), and host.containers.internal is its gateway.
 */
export async function podNetwork(pod: string): Promise<{ gateway: string; subnet: string }> {
  const infra = (await podman(['pod', 'inspect', '--format', '{{.InfraContainerID}}', pod])).trim();
  const [container] = JSON.parse(await podman(['inspect', infra])) as {
    NetworkSettings: {
      Networks: Record<string, { Gateway: string; IPAddress: string; IPPrefixLen: number }>;
    };
  }[];
  const network = Object.values(container?.NetworkSettings.Networks ?? {}).find((n) =>
    n.Gateway.includes('.'),
  );
  if (!network) throw new Error(`pod ${pod} is on no IPv4 network`);
  return { gateway: network.Gateway, subnet: `${network.IPAddress}/${network.IPPrefixLen}` };
}

/** MySQL's host pattern for an IPv4 /16 or /24 network (10.89.0.19/24 -> 10.89.0.%). */
export function hostPattern(subnet: string): string {
  const [address = '', bits] = subnet.split('/');
  const octets = address.split('.').slice(0, Number(bits) / 8);
  if (![2, 3].includes(octets.length)) throw new Error(`cannot make a MySQL host pattern of ${subnet}`);
  return `${octets.join('.')}.%`;
}

/**
 * Starts the server on `port` (the one the rendered chart names) once the pod runs: the bridge, and so
 * the gateway address, may not exist before the first container on it. Creates the app's user (with
 * `password`, the pod's Secret, for logins from the pod subnet only) and mysql-broker's health user (no password, no rights,
 * as the broker's README says).
 */
export async function startPodDatabase(
  t: Teardown,
  pod: string,
  port: number,
  password: string,
): Promise<PodDatabase> {
  const { gateway, subnet } = await podNetwork(pod);
  const db = await startMariaDb(t, { port, args: [`--bind-address=127.0.0.1,${gateway}`] });
  if (db.port !== port) throw new Error(`MariaDB moved from the rendered port ${port} to ${db.port}`);
  const pods = hostPattern(subnet);
  const user = 'legacy';
  const database = 'legacy';
  await db.query(`CREATE USER '${user}'@'${pods}' IDENTIFIED BY ?`, [password]);
  await db.query(`GRANT ALL ON \`${database}\`.* TO '${user}'@'${pods}'`);
  await db.query(`CREATE USER 'podkit-health'@'${pods}'`);
  return { db, gateway, user, password, database };
}
