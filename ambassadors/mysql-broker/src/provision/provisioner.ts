/**
 * `--provision`: when the Service does not exist, create the database (manifests.ts), then wait for its
 * StatefulSet to report a ready replica. Every step is idempotent -- a create that gets 409 reuses what
 * is there -- so a restarted ambassador finishes a half-done provisioning, and two ambassadors starting
 * at once end up with one set (names are deterministic; the API lets one create per name win). The
 * Service is created last: its existence means the set is complete. A Service that exists and is not
 * podkit-managed is the user's: it is used as it is and nothing is created.
 *
 * Failures (RBAC denials, an unreachable API) are retried with backoff and reported through `onStatus`,
 * which feeds /readyz, so a missing permission shows up as a reason rather than a silent wait.
 */

import { randomBytes } from 'node:crypto';
import type { KubeConfig, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { Backoff, pause } from '../../../../lib/backoff.js';
import { ErrorCode } from '../../../../lib/errors.js';
import { type ResourceWatch, watchResources } from '../../../../lib/kube.js';
import { KubeApiError, requestJson } from '../../../../lib/kube-request.js';
import type { Logger } from '../../../../lib/log.js';
import {
  credentialsSecret,
  databaseStatefulSet,
  headlessService,
  managedLabels,
  type ProvisionSpec,
  rootSecret,
  rootSecretName,
  secretName,
} from './manifests.js';

export interface Provisioner {
  /** Resolves when the database is ready, the Service turned out to be the user's, or stop() was called. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

type Created = 'created' | 'existed';

function apiStatus(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.statusCode : undefined;
}

/** The request and the server's answer, e.g. `POST /apis/apps/v1/namespaces/db/statefulsets: 403 Forbidden: ...`. */
/** ` (HTTP 403)`, or nothing when the API was not reached. */
function httpStatus(err: unknown): string {
  const status = apiStatus(err);
  return status === undefined ? '' : ` (HTTP ${status})`;
}

function apiMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function password(): string {
  return randomBytes(24).toString('base64url');
}

export function startProvisioner(
  kc: KubeConfig,
  spec: ProvisionSpec,
  log: Logger,
  onStatus: (status: string) => void,
): Provisioner {
  const corePath = `/api/v1/namespaces/${encodeURIComponent(spec.namespace)}`;
  const appsPath = `/apis/apps/v1/namespaces/${encodeURIComponent(spec.namespace)}`;
  const stopping = new AbortController();
  const backoff = new Backoff({ initialMs: 500, maxMs: 15_000 });
  const { namespace, service } = spec;
  let watch: ResourceWatch | undefined;
  const managed = managedLabels(service)['app.kubernetes.io/managed-by'];

  const create = async (what: string, collection: string, body: unknown): Promise<Created> => {
    try {
      await requestJson(kc, { method: 'POST', path: collection, body, signal: stopping.signal });
      log.info({ namespace, object: what }, 'provisioned');
      return 'created';
    } catch (err) {
      if (apiStatus(err) === 409) {
        log.info({ namespace, object: what }, 'already exists; reusing it');
        return 'existed';
      }
      throw err;
    }
  };

  /** The user's Service, one this provisioning completed (the Service comes last), or none yet. */
  const serviceState = async (): Promise<'users' | 'provisioned' | 'missing'> => {
    try {
      const existing = (await requestJson(kc, {
        path: `${corePath}/services/${encodeURIComponent(service)}`,
        signal: stopping.signal,
      })) as V1Service;
      return existing.metadata?.labels?.['app.kubernetes.io/managed-by'] === managed
        ? 'provisioned'
        : 'users';
    } catch (err) {
      if (apiStatus(err) === 404) return 'missing';
      throw err;
    }
  };

  /** False when the Service is the user's: nothing to create or wait for. */
  const ensureObjects = async (): Promise<boolean> => {
    const state = await serviceState();
    if (state === 'users') {
      log.info(
        { namespace, service },
        'the Service exists and is not podkit-managed: brokering to it as it is',
      );
      return false;
    }
    // A complete set is left as it is: a set made before the root password had a Secret of its own
    // must not get a new, unused one.
    if (state === 'provisioned') {
      log.info({ namespace, service }, 'the provisioned set is complete; reusing it');
      return true;
    }
    onStatus(`provisioning ${namespace}/${service}`);
    await create(`Secret ${rootSecretName(service)}`, `${corePath}/secrets`, rootSecret(spec, password()));
    await create(`Secret ${secretName(service)}`, `${corePath}/secrets`, credentialsSecret(spec, password()));
    await create(`StatefulSet ${service}`, `${appsPath}/statefulsets`, databaseStatefulSet(spec));
    await create(`Service ${service}`, `${corePath}/services`, headlessService(spec));
    return true;
  };

  const waitReady = () =>
    new Promise<void>((resolve) => {
      onStatus(`waiting for StatefulSet ${namespace}/${service} to have a ready replica`);
      const check = (sts: V1StatefulSet | undefined) => {
        if ((sts?.status?.readyReplicas ?? 0) < 1) return;
        log.info({ namespace, statefulSet: service }, 'provisioned database is ready');
        onStatus(`StatefulSet ${namespace}/${service} ready`);
        resolve();
      };
      watch = watchResources<V1StatefulSet>(
        kc,
        {
          apiVersion: 'apps/v1',
          resource: 'statefulsets',
          namespace,
          fieldSelector: `metadata.name=${service}`,
        },
        {
          onSnapshot: (items) => check(items[0]),
          onChange: (type, sts) => check(type === 'DELETED' ? undefined : sts),
          onError: (err) => {
            // A refused watch (RBAC) must show in the log too, not only in /readyz.
            log.warn(
              { code: ErrorCode.KUBE_API, namespace, statefulSet: service, err: apiMessage(err) },
              'StatefulSet watch error; retrying',
            );
            // /readyz gets the status code only: the API's message goes to the log above.
            onStatus(`watching StatefulSet ${namespace}/${service} failed${httpStatus(err)}; see the log`);
          },
        },
      );
      stopping.signal.addEventListener('abort', () => resolve(), { once: true });
    });

  const done = (async () => {
    while (!stopping.signal.aborted) {
      try {
        if (await ensureObjects()) await waitReady();
        return;
      } catch (err) {
        if (stopping.signal.aborted) return;
        const reason = apiMessage(err);
        const hint = apiStatus(err) === 403 ? ' (see the RBAC section of the mysql-broker README)' : '';
        log.error(
          { code: ErrorCode.KUBE_API, namespace, service, err: reason },
          `provisioning failed${hint}; retrying`,
        );
        onStatus(`provisioning failed${httpStatus(err)}${hint}; see the log`);
        await pause(backoff.next(), stopping.signal);
      }
    }
  })().finally(async () => {
    await watch?.stop();
  });

  return {
    done,
    async stop() {
      stopping.abort();
      await done;
    },
  };
}
