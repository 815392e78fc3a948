/**
 * The legacy app's pod: config-sync publishes its config and SIGHUPs it, mysql-broker gives it MySQL on
 * loopback, tls-proxy serves it over https, log-normalizer turns its log files into JSON records,
 * db-health watches the database it uses, and metrics-exporter turns its JSON stats (and StatsD, and the
 * database's status) into Prometheus metrics.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../repo-root.js';
import { selfSignedCertificate } from './certificate.js';
import type { DemoContainer, DemoContext } from './context.js';

export async function legacyPod(ctx: DemoContext): Promise<DemoContainer[]> {
  const appPort = await ctx.port(8080);
  const logDir = join(ctx.dir, 'legacy-logs');
  mkdirSync(logDir, { recursive: true });
  const pidFile = join(ctx.dir, 'legacy-app.pid');
  const broker = await mysqlBroker(ctx);
  // The app's config is what config-sync publishes from a directory the user edits (like a ConfigMap).
  const configSource = join(ctx.dir, 'config-source');
  const configDir = join(ctx.dir, 'legacy-config');
  mkdirSync(configSource, { recursive: true });
  writeFileSync(
    join(configSource, 'app.conf'),
    `port = ${appPort}\ngreeting = Hello from the legacy app\nlog_dir = ${logDir}\npid_file = ${pidFile}\n${broker?.legacyConfig ?? ''}`,
  );
  const config = join(configDir, 'app.conf');
  const configSyncAdmin = await ctx.port(9402);
  return [
    ...(broker ? [broker.container] : []),
    {
      name: 'config-sync',
      script: 'cli.js',
      args: [
        'config-sync',
        ...[
          '--source',
          'dir',
          '--source-dir',
          configSource,
          '--target-dir',
          configDir,
          '--pid-file',
          pidFile,
        ],
        ...['--health-url', `http://127.0.0.1:${appPort}/health`, '--health-timeout', '5s'],
        ...['--admin-address', `127.0.0.1:${configSyncAdmin}`],
      ],
      readyUrl: `http://127.0.0.1:${configSyncAdmin}/readyz`,
      tryLines: [
        `edit ${join(configSource, 'app.conf')} (greeting = Hi)   published into ${configDir}, then SIGHUP: curl http://127.0.0.1:${appPort}/`,
        `add a line "colour = red" there   the app rejects it, /health turns 503, config-sync puts the last good config back`,
        `curl -s http://127.0.0.1:${configSyncAdmin}/metrics | grep podkit_config_sync   syncs, publishes, rollbacks, version`,
        `ls -la ${configDir}   the kubelet's ConfigMap layout: ..data -> a version, app.conf -> ..data/app.conf`,
      ],
    },
    {
      name: 'legacy-app',
      script: 'examples/legacy-app/src/main.js',
      args: ['-c', config],
      readyUrl: `http://127.0.0.1:${appPort}/health`,
      tryLines: [
        `curl http://127.0.0.1:${appPort}/             the legacy app (loopback only, like in a pod)`,
        `curl http://127.0.0.1:${appPort}/stats        its own JSON stats (not Prometheus)`,
        `reads ${config}, kept by config-sync; kill -HUP $(cat ${pidFile}) reloads by hand`,
        `tail -f ${join(logDir, 'info.log')} ${join(logDir, 'error.log')}   its plain-text logs (curl /fail for a stack trace)`,
        ...(broker
          ? [
              `curl -d 'a note' http://127.0.0.1:${appPort}/notes; curl http://127.0.0.1:${appPort}/notes   notes stored in MySQL through mysql-broker`,
            ]
          : []),
      ],
    },
    await tlsProxy(ctx, appPort),
    await logNormalizer(ctx, appPort, logDir),
    ...(await dbHealth(ctx)),
    await metricsExporter(ctx, appPort),
  ];
}

/** metrics-exporter: the app's /stats through its json_exporter mapping, StatsD, the database's status. */
async function metricsExporter(ctx: DemoContext, appPort: number): Promise<DemoContainer> {
  const admin = `127.0.0.1:${await ctx.port(9407)}`;
  const statsd = await ctx.port(9125);
  const db = await ctx.database();
  const password = join(ctx.dir, 'metrics-exporter-mysql-password');
  if (db) writeFileSync(password, db.password, { mode: 0o600 });
  return {
    name: 'metrics-exporter',
    script: 'cli.js',
    args: [
      'metrics-exporter',
      ...['--json-url', `http://127.0.0.1:${appPort}/stats`],
      ...['--json-mapping-file', join(repoRoot, 'examples', 'legacy-app', 'stats-mapping.yml')],
      ...['--statsd-listen', `127.0.0.1:${statsd}`, '--statsd-ttl', '1m'],
      ...(db ? ['--mysql-url', db.url, '--mysql-password-file', password] : []),
      ...['--admin-address', admin],
    ],
    readyUrl: `http://${admin}/readyz`,
    tryLines: [
      `curl -s http://${admin}/metrics | grep ^legacy_   the app's /stats as metrics (examples/legacy-app/stats-mapping.yml)`,
      `curl -s -H 'Accept: application/openmetrics-text' http://${admin}/metrics | tail -3   the same as OpenMetrics`,
      `echo 'shop.orders:1|c|#region:eu' | nc -u -w1 127.0.0.1 ${statsd}   StatsD: shop_orders_total{region="eu"}, gone after 1m unseen`,
      `stop the legacy app: podkit_metrics_exporter_up{source="json"} 0, and /metrics still answers 200`,
      ...(db
        ? [`curl -s http://${admin}/metrics | grep ^mysql_global_status_threads   the database's status`]
        : []),
    ],
  };
}

/** log-normalizer: the app's per-level files as JSON records on stdout (this terminal, as `kubectl logs`). */
async function logNormalizer(ctx: DemoContext, appPort: number, logDir: string): Promise<DemoContainer> {
  const admin = `127.0.0.1:${await ctx.port(9406)}`;
  return {
    name: 'log-normalizer',
    script: 'cli.js',
    args: [
      'log-normalizer',
      ...['--input', join(logDir, '*.log'), '--state-dir', join(ctx.dir, 'log-normalizer-state')],
      ...['--add-field', 'pod=legacy-demo', '--admin-address', admin],
    ],
    readyUrl: `http://${admin}/readyz`,
    tryLines: [
      `curl http://127.0.0.1:${appPort}/fail   its error and stack trace appear here as one JSON record ("source":".../error.log")`,
      `mv ${join(logDir, 'info.log')} ${join(logDir, 'info.log.1')}; curl http://127.0.0.1:${appPort}/   a rotation by hand: nothing lost, nothing twice`,
      `curl -s http://${admin}/metrics | grep ^podkit_log_normalizer   records by format and level, lag, rotations`,
    ],
  };
}

/**
 * mysql-broker, the ambassador: the legacy app stores its notes in MySQL at 127.0.0.1:3306 and the broker
 * passes them on to the demo's MariaDB (the database outside the pod).
 */
async function mysqlBroker(
  ctx: DemoContext,
): Promise<{ container: DemoContainer; legacyConfig: string } | undefined> {
  const db = await ctx.database();
  if (!db) return undefined;
  const password = 'legacy-demo-password';
  await db.query(`CREATE USER 'legacy'@'127.0.0.1' IDENTIFIED BY '${password}'`);
  await db.query(`GRANT ALL ON legacy.* TO 'legacy'@'127.0.0.1'`);
  const passwordFile = join(ctx.dir, 'legacy-mysql-password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const port = await ctx.port(3306);
  const admin = await ctx.port(9404);
  return {
    legacyConfig: `storage = mysql\nmysql_host = 127.0.0.1\nmysql_port = ${port}\nmysql_user = legacy\nmysql_password_file = ${passwordFile}\nmysql_database = legacy\n`,
    container: {
      name: 'mysql-broker',
      script: 'cli.js',
      args: [
        'mysql-broker',
        ...['--listen', `127.0.0.1:${port}`, '--backends', `${db.host}:${db.port}`],
        ...['--admin-address', `127.0.0.1:${admin}`],
      ],
      readyUrl: `http://127.0.0.1:${admin}/readyz`,
      tryLines: [
        `mysql-broker on 127.0.0.1:${port} -> MariaDB at ${db.host}:${db.port} (a private server the demo started)`,
        `MYSQL_PWD=${password} mariadb -h127.0.0.1 -P${port} -ulegacy legacy -e 'SELECT * FROM notes'   the app's notes, through the broker`,
        `curl http://127.0.0.1:${admin}/readyz; curl -s http://127.0.0.1:${admin}/metrics | grep podkit_mysql_broker`,
      ],
    },
  };
}

/** tls-proxy: the legacy app over https, with a self-signed certificate made at demo start. */
async function tlsProxy(ctx: DemoContext, appPort: number): Promise<DemoContainer> {
  const tlsPort = await ctx.port(8443);
  const adminPort = await ctx.port(9401);
  const { cert, key, remake } = selfSignedCertificate(ctx.dir);
  const https = `https://localhost:${tlsPort}`;
  return {
    name: 'tls-proxy',
    script: 'cli.js',
    args: [
      'tls-proxy',
      ...['--listen', `127.0.0.1:${tlsPort}`, '--upstream', `http://127.0.0.1:${appPort}`],
      ...['--cert-file', cert, '--key-file', key, '--hsts-max-age', '300'],
      ...['--admin-address', `127.0.0.1:${adminPort}`],
    ],
    readyUrl: `http://127.0.0.1:${adminPort}/readyz`,
    tryLines: [
      `curl --cacert ${cert} ${https}/             the legacy app over https, through the sidecar`,
      `curl --cacert ${cert} --http2 -i ${https}/stats    HTTP/2, HSTS, X-Forwarded-* reach the app`,
      `curl -i http://127.0.0.1:${tlsPort}/             plain HTTP to the TLS port: 400, as nginx answers`,
      `openssl s_client -connect 127.0.0.1:${tlsPort} -tls1_1 </dev/null   TLS 1.1 is refused`,
      `${remake}`,
      '    rotate the certificate: picked up without a restart (a key/cert mismatch in between is refused and logged)',
      `curl -s http://127.0.0.1:${adminPort}/metrics | grep ^podkit_tls_proxy   its metrics`,
    ],
  };
}

/** db-health beside the database: its probes come from real queries. */
async function dbHealth(ctx: DemoContext): Promise<DemoContainer[]> {
  const db = await ctx.database();
  if (!db) return [];
  const password = join(ctx.dir, 'db-health-password');
  writeFileSync(password, db.password, { mode: 0o600 });
  const checks = join(ctx.dir, 'db-health-checks.yaml');
  writeFileSync(checks, '- name: server-version\n  sql: SELECT VERSION()\n  expect: { regex: MariaDB }\n');
  const admin = `127.0.0.1:${await ctx.port(9408)}`;
  const sql = `MYSQL_PWD=${db.password} mariadb -h 127.0.0.1 -P ${db.port} -u root`;
  return [
    {
      name: 'db-health',
      script: 'cli.js',
      args: [
        'db-health',
        ...['--mysql-url', db.url, '--mysql-password-file', password, '--require-writable'],
        ...['--checks-file', checks, '--check-interval', '2s', '--admin-address', admin],
      ],
      readyUrl: `http://${admin}/readyz`,
      tryLines: [
        `curl http://${admin}/readyz          the database's readiness from real queries (also /healthz, /startupz, /metrics)`,
        `${sql} -e 'SET GLOBAL read_only = 1'   then /readyz turns 503 ("unexpected result"; the log says "the server is read-only"; = 0 to undo)`,
        `node dist/cli.js db-health --probe readiness --admin-address ${admin}; echo $?   the exec-probe form`,
        `edit ${checks} then: pkill -HUP -f 'cli.js db-health'   reload the custom checks`,
      ],
    },
  ];
}
