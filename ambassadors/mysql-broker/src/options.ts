import { kubeOptions } from '../../../lib/option-groups/kube.js';
import { Expected, parseHostPort } from '../../../lib/option-types.js';
import { opt } from '../../../lib/options.js';

/** A Kubernetes label value: what a label selector can match. */
function parseLabelValue(raw: string): string {
  if (raw.length > 63 || !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(raw)) {
    throw new Expected(
      'label values (at most 63 letters, digits, "-", "_" or ".", alphanumeric at both ends)',
    );
  }
  return raw;
}

export const mysqlBrokerOptions = {
  listen: opt.hostPort({
    default: '127.0.0.1:3306',
    description: 'Where the app connects for read-write connections (localhost only unless told otherwise).',
  }),
  listenReadOnly: opt.hostPort({
    description:
      'Optional second listener for read-only connections: --read-only-backends, else the healthy backends other than the primary, else the primary.',
  }),
  discovery: opt.enum(['static', 'dns', 'kubernetes'], {
    default: 'static',
    description: 'Where the backends come from: --backends, --dns-name, or --service in --namespace.',
  }),
  backends: opt.list({
    item: parseHostPort,
    itemName: 'host:port',
    description: 'Static backends in order of preference; the first healthy one gets new connections.',
  }),
  readOnlyBackends: opt.list({
    item: parseHostPort,
    itemName: 'host:port',
    description:
      'Backends for the read-only listener (replicas), used in turn; health-checked like the others.',
  }),
  dnsName: opt.string({
    description:
      'For --discovery dns: host:port (all A/AAAA addresses) or an SRV name (_mysql._tcp.name), re-resolved every --health-interval.',
  }),
  service: opt.string({
    pattern: /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
    expect: 'a Kubernetes Service name (DNS-1035 label)',
    description:
      'For --discovery kubernetes: the Service whose ready EndpointSlice endpoints are the backends.',
  }),
  endpointsliceManagedBy: opt.list({
    default: 'endpointslice-controller.k8s.io',
    item: parseLabelValue,
    itemName: 'controller',
    description:
      'For --discovery kubernetes: follow only EndpointSlices labelled endpointslice.kubernetes.io/managed-by one of these (empty: any).',
  }),
  ...kubeOptions,
  provision: opt.bool({
    description:
      'With --discovery kubernetes: when the Service does not exist, create it with a StatefulSet and a credentials Secret.',
  }),
  provisionImage: opt.string({
    default: 'mariadb:11',
    description: 'Image of the provisioned database (the mariadb image reads MARIADB_* variables).',
  }),
  provisionStorage: opt.string({
    default: '1Gi',
    pattern: /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/,
    expect: 'a Kubernetes quantity such as 1Gi or 500Mi',
    description: 'Size of the provisioned database volume (volumeClaimTemplate request).',
  }),
  provisionStorageClass: opt.string({
    description: 'StorageClass of the provisioned volume; default: the cluster default.',
  }),
  maxConnections: opt.int({
    default: 0,
    min: 0,
    description: 'Most client connections open at once over both listeners (0: no limit); over it: ERR 1040.',
  }),
  connectTimeout: opt.duration({
    default: '5s',
    min: '10ms',
    description: 'How long a backend may take to send its greeting, for connections and health checks.',
  }),
  idleTimeout: opt.duration({
    default: '0s',
    description: 'Close a connection after this long without a byte either way (0: never).',
  }),
  maxHandshakeSize: opt.int({
    default: 64 * 1024,
    min: 64,
    max: 0xff_ffff,
    description:
      'Largest first packet (handshake response) a client may send, in bytes; over it, or not a MySQL handshake: ERR and close, before the backend reads a byte.',
  }),
  workers: opt.int({
    default: 1,
    min: 1,
    max: 64,
    description:
      'Processes that carry the data path; above 1, the primary hands each connection to the least busy worker.',
  }),
  healthInterval: opt.duration({
    default: '2s',
    min: '50ms',
    description: 'How often each backend is checked (its MySQL greeting read); bounds failover time.',
  }),
  quitquitquit: opt.bool({
    description:
      'Enable POST /quitquitquit on the admin port (drain and exit 0, for the last step of a Job); off: 404.',
  }),
  adminToken: opt.secret({
    description:
      'Bearer token that POST /quitquitquit requires (re-read per request); without it, once enabled, whoever reaches the admin port can end the broker.',
  }),
  healthUser: opt.string({
    default: 'podkit-health',
    description:
      'User the health check logs in as with an empty password, to finish the handshake (see README); empty: greeting only.',
  }),
};
