/**
 * mysql-broker: the app always connects to MySQL on localhost; the ambassador finds the real database
 * (static list, DNS, or a Kubernetes Service, which it can create) and brokers each connection to the
 * first healthy backend. See ../README.md.
 */

import { defineComponent } from '../../../lib/component.js';
import { Expected, parseHostPort } from '../../../lib/option-types.js';
import { invalid } from '../../../lib/options.js';
import { BackendPool, type BackendState } from './backend-pool.js';
import { Broker, type BrokerEvents, type DataPath, type Route } from './broker.js';
import { parseDnsName, startDnsDiscovery } from './discovery/dns.js';
import {
  type BrokerMetrics,
  createBrokerMetrics,
  createByteMetrics,
  createLimitMetrics,
  type ListenerName,
} from './metrics.js';
import { mysqlBrokerOptions } from './options.js';
import { registerQuitEndpoint } from './quit-endpoint.js';
import { backendReason, poolReason } from './readiness.js';
import { BrokerWorkers } from './worker-pool.js';

/** Round-robin over `pool`, then `fallback`: the read-only route. */
function rotating(pool: () => BackendState[], fallback: () => BackendState[]): () => BackendState[] {
  let turn = 0;
  return () => {
    const choices = pool();
    const start = choices.length ? turn++ % choices.length : 0;
    const ordered = [...choices.slice(start), ...choices.slice(0, start)];
    return [...ordered, ...fallback().filter((b) => !ordered.includes(b))];
  };
}

export const mysqlBroker = defineComponent({
  options: mysqlBrokerOptions,
  check(o) {
    if (o.discovery === 'static' && o.backends.length === 0)
      throw invalid('backends', 'is required with --discovery static: host:port,host:port');
    if (o.discovery !== 'static' && o.backends.length > 0)
      throw invalid('backends', `is only used with --discovery static (got --discovery ${o.discovery})`);
    if (o.discovery === 'dns') {
      if (!o.dnsName) throw invalid('dnsName', 'is required with --discovery dns');
      try {
        parseDnsName(o.dnsName);
      } catch (err) {
        if (!(err instanceof Expected)) throw err;
        throw invalid('dnsName', `${JSON.stringify(o.dnsName)}: expected ${err.message}`);
      }
    }
    if (o.discovery === 'kubernetes' && !o.service)
      throw invalid('service', 'is required with --discovery kubernetes');
    if (o.provision && o.discovery !== 'kubernetes')
      throw invalid('provision', 'needs --discovery kubernetes (it creates the --service it then follows)');
    if (o.readOnlyBackends.length > 0 && !o.listenReadOnly)
      throw invalid('readOnlyBackends', 'needs --listen-read-only, the listener they serve');
  },

  async start(o, ctx) {
    const { log, health } = ctx;
    let metrics: BrokerMetrics | undefined;
    let provisioning: string | undefined;
    const brokerEvents: BrokerEvents = {
      brokered: (listener) => metrics?.connections.inc({ listener }),
      refused: (reason) => metrics?.refused.inc({ reason }),
    };
    const dataPathOptions = {
      connectTimeoutMs: o.connectTimeout,
      idleTimeoutMs: o.idleTimeout,
      maxConnections: o.maxConnections,
      maxHandshakeBytes: o.maxHandshakeSize,
      healthUser: o.healthUser,
      log,
      events: brokerEvents,
    };
    let broker: DataPath;
    if (o.workers > 1) {
      const workers = new BrokerWorkers({
        ...dataPathOptions,
        count: o.workers,
        logLevel: o.logLevel,
        readiness: health.readiness,
        registry: ctx.registry,
        drainTimeoutMs: o.shutdownTimeout,
      });
      await workers.start();
      broker = workers;
    } else {
      const limits = createLimitMetrics(ctx.registry);
      const single = new Broker({ ...dataPathOptions, limitRejected: (limit) => limits.inc({ limit }) });
      createByteMetrics(ctx.registry, () => single.bytes());
      broker = single;
    }

    const events = (role: ListenerName) => ({
      onUnhealthy(backend: BackendState) {
        const closed = broker.closeBackend(backend.key);
        if (closed > 0)
          log.warn({ role, backend: backend.key, closed }, 'closed connections to an unhealthy backend');
        updateReadiness();
      },
      onPrimaryChange: () => updateReadiness(),
      onFailover(from: string, to: string) {
        metrics?.failovers.inc({ role });
        log.warn({ role, from, to }, 'failover');
      },
      onMembership: () => updateReadiness(),
    });
    const poolOptions = (role: ListenerName) => ({
      role,
      intervalMs: o.healthInterval,
      timeoutMs: o.connectTimeout,
      user: o.healthUser,
      log,
    });
    const readWrite = new BackendPool(poolOptions('read-write'), events('read-write'));
    const readOnly =
      o.readOnlyBackends.length > 0
        ? new BackendPool(poolOptions('read-only'), events('read-only'))
        : undefined;

    function updateReadiness(): void {
      const primary = readWrite.primary;
      health.readiness.set('backend', primary !== undefined, {
        primary: primary?.key ?? null,
        ...(primary ? {} : { reason: poolReason(readWrite.backends, readWrite.discovered) }),
        backends: readWrite.backends.map((b) => ({
          backend: b.key,
          healthy: b.healthy ?? null,
          reason: backendReason(b),
        })),
        ...(provisioning ? { provisioning } : {}),
      });
    }
    updateReadiness();

    metrics = createBrokerMetrics(ctx.registry, () => broker, {
      backends: () =>
        [[readWrite, 'read-write'] as const, ...(readOnly ? [[readOnly, 'read-only'] as const] : [])].flatMap(
          ([pool, role]) =>
            pool.backends.map((b) => ({
              backend: b.key,
              role,
              up: b.healthy === true,
              primary: b === pool.primary,
            })),
        ),
    });

    const routeOf = (candidates: () => BackendState[]): Route => ({
      candidates,
      markFailed(key, detail) {
        readWrite.markFailed(key, detail);
        readOnly?.markFailed(key, detail);
      },
      describe: () => readWrite.describe(),
    });
    // The bound port (not --listen's, which may be 0) is what the app is told in the provisioned Secret.
    const bound = parseHostPort(
      await broker.listen(
        'read-write',
        o.listen,
        routeOf(() => readWrite.candidates()),
      ),
    );
    if (o.listenReadOnly) {
      const readOnlyChoices = readOnly
        ? () => readOnly.candidates()
        : () => readWrite.candidates().filter((b) => b !== readWrite.primary);
      await broker.listen(
        'read-only',
        o.listenReadOnly,
        routeOf(rotating(readOnlyChoices, () => readWrite.candidates())),
      );
    }

    const stops: (() => void | Promise<void>)[] = [];
    if (o.discovery === 'static') readWrite.setBackends(o.backends);
    if (o.discovery === 'dns') {
      const dns = startDnsDiscovery(
        parseDnsName(o.dnsName as string),
        o.healthInterval,
        (list) => readWrite.setBackends(list),
        log,
      );
      stops.push(() => dns.stop());
    }
    if (o.discovery === 'kubernetes') {
      // Loaded only here: the Kubernetes client is most of the start-up time and memory of a broker.
      const { kubeAccess } = await import('../../../lib/kube.js');
      const { watchServiceEndpoints } = await import('./discovery/kubernetes.js');
      const { startProvisioner } = await import('./provision/provisioner.js');
      const { kc, namespace } = kubeAccess(o);
      const service = o.service as string;
      const managers = o.endpointsliceManagedBy;
      log.info(
        { namespace, service, managedBy: managers },
        'following the Service through its EndpointSlices',
      );
      const watch = watchServiceEndpoints(
        kc,
        { namespace, service, managers },
        (list) => readWrite.setBackends(list),
        log,
      );
      stops.push(() => watch.stop());
      if (o.provision) {
        // A wildcard listener is reached on loopback from inside the pod.
        const appHost = ['0.0.0.0', '::'].includes(bound.host) ? '127.0.0.1' : bound.host;
        const provisioner = startProvisioner(
          kc,
          {
            service,
            namespace,
            image: o.provisionImage,
            storage: o.provisionStorage,
            ...(o.provisionStorageClass ? { storageClass: o.provisionStorageClass } : {}),
            appHost,
            appPort: bound.port,
          },
          log,
          (status) => {
            provisioning = status;
            updateReadiness();
          },
        );
        stops.push(() => provisioner.stop());
      }
    }
    readOnly?.setBackends(o.readOnlyBackends);
    readWrite.start();
    readOnly?.start();

    registerQuitEndpoint(ctx.admin, { enabled: o.quitquitquit, token: o.adminToken, log, stop: ctx.stop });

    return {
      async close() {
        readWrite.stop();
        readOnly?.stop();
        await Promise.all(stops.map((stop) => stop()));
        await broker.drain();
      },
    };
  },
});
