/**
 * db-health's option spec. It imports only lib/options and the pure --mysql-url parser, so other
 * components load it cheaply to learn its names.
 */

import { opt } from '../../../lib/options.js';
import { parseMysqlUrl } from './mysql-url.js';

export const probeNames = ['liveness', 'readiness', 'startup'] as const;
export type ProbeName = (typeof probeNames)[number];

export const dbHealthOptions = {
  mysqlUrl: opt.custom(parseMysqlUrl, {
    placeholder: '<url>',
    typeName: 'mysql URL',
    description:
      'The database to check, as mysql://user@host:port/database, without a password. Required except with --probe.',
  }),
  mysqlPassword: opt.secret({
    description:
      "The user's password; the file is re-read for every new connection, so a rotated Secret applies.",
  }),
  mysqlCaFile: opt.file({
    mustExist: true,
    description:
      "Connect with TLS 1.2+ and verify the server's certificate against this CA bundle (and its host name, when --mysql-url names a host, not an IP); re-read for every new connection. Without it the connection is plain, as on the pod's loopback.",
  }),
  checksFile: opt.file({
    mustExist: true,
    description:
      'YAML list of custom checks: name, sql, expect (equals, min, max, regex or rows) and probes (liveness, readiness, startup). SIGHUP reloads it.',
  }),
  maxReplicationLag: opt.duration({
    description:
      'Built-in readiness check replication-lag: fail when Seconds_Behind_Master exceeds this or replication is stopped; a server that is not a replica passes.',
  }),
  requireWritable: opt.bool({
    description:
      'Built-in readiness check writable: fail while read_only, super_read_only or innodb_read_only is set.',
  }),
  minFreeConnections: opt.int({
    min: 1,
    description:
      'Built-in readiness check free-connections: fail when max_connections - Threads_connected is below this.',
  }),
  checkInterval: opt.duration({
    default: '5s',
    min: '100ms',
    description: 'How often the checks run; probes answer from the latest results.',
  }),
  checkTimeout: opt.duration({
    default: '2s',
    min: '10ms',
    description:
      'How long one check may take, connecting included; past it the check fails with "timeout" and its connection is destroyed.',
  }),
  livenessGrace: opt.duration({
    default: '30s',
    description:
      'How long a liveness-gated check must keep failing before /healthz fails (readiness fails at the first failure).',
  }),
  poolSize: opt.int({
    default: 2,
    min: 1,
    max: 16,
    description: 'Connections the checks may hold open, which is also how many checks run at once.',
  }),
  probe: opt.enum(probeNames, {
    description:
      'Exec-probe mode: ask the adapter running at --admin-address for this probe, print its answer, exit 0 if it passes, else 1.',
  }),
};
