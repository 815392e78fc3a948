/**
 * config-sync: configuration from ConfigMaps, a directory or a URL into a directory shared with the app
 * (the kubelet's ConfigMap-volume layout), validated before it is published, then a signal or an HTTP
 * call to the app, and a rollback when the app is unhealthy afterwards.
 *
 * A failed webhook is tried three times in all, a few seconds apart, then counted and logged: the files
 * are published either way, the health gate judges the outcome, and the next change calls again.
 * (git-pull instead retries until a call succeeds, since it announces the newest revision.)
 */

import { access, constants } from 'node:fs/promises';
import { ensureDir } from '../../../lib/atomic-fs.js';
import { defineComponent } from '../../../lib/component.js';
import { ConfigError, describeError } from '../../../lib/errors.js';
import { HttpClient } from '../../../lib/http-client.js';
import { signalNotifier, webhookNotifier } from '../../../lib/notify-app.js';
import { checkOptions } from './check.js';
import { KubeletLayout } from './layout.js';
import { createMetrics } from './metrics.js';
import { options } from './options.js';
import type { Source } from './source.js';
import { createSource } from './sources.js';
import { Syncer } from './syncer.js';

async function prepareTarget(dir: string): Promise<void> {
  try {
    await ensureDir(dir);
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError(
      'targetDir',
      `--target-dir ${dir} is not a writable directory: ${describeError(err)}`,
    );
  }
}

export const configSync = defineComponent({
  options,
  check: checkOptions,
  async start(o, ctx) {
    const { log } = ctx;
    await prepareTarget(o.targetDir);
    // One client for every URL config-sync calls: the source, the health URL and the webhook.
    const client = new HttpClient({ caFile: o.caFile });
    const { source, description } = await createSource(o, log, client);
    const notifier = webhookNotifier(o, client, { attempts: 3 }) ?? signalNotifier(o);
    const syncer = new Syncer({
      layout: new KubeletLayout(o.targetDir, o.keepVersions, Number.parseInt(o.fileMode, 8)),
      validateMode: o.validate,
      validateCommand: o.validateCommand,
      validateTimeoutMs: o.validateTimeout,
      notifier,
      health: o.healthUrl
        ? { url: o.healthUrl, timeoutMs: o.healthTimeout, stableMs: o.healthStable, client }
        : undefined,
      debounceMs: o.debounce,
      metrics: createMetrics(ctx.registry),
      log,
      readiness: (ok, detail) => ctx.health.readiness.set('config', ok, detail),
    });
    await syncer.init();
    log.info(
      { source: description, target: o.targetDir, notify: notifier?.target ?? 'none', oneTime: o.oneTime },
      'syncing',
    );
    if (o.oneTime) return runOnce(source, syncer, client, ctx.stop);

    await source.start({
      snapshot: (snapshot) => syncer.offer(snapshot),
      unchanged: () => syncer.unchanged(),
      invalid: (reason) => syncer.invalid(reason),
      error: (err) => syncer.sourceError(err),
    });
    return {
      async close() {
        await source.close();
        await syncer.close();
        client.close();
      },
      async reload() {
        const forgotten = syncer.forgetBad();
        log.info({ forgotten }, 'SIGHUP: content marked bad is forgotten; reading the source again');
        source.refresh();
      },
    };
  },
});

/** Init-container mode: one read, one publish, then exit 0, or exit 1 naming what went wrong. */
function runOnce(
  source: Source,
  syncer: Syncer,
  client: HttpClient,
  stop: (code: 0 | 1, reason: string) => void,
) {
  const done = (async () => {
    let snapshot: Awaited<ReturnType<Source['read']>>;
    try {
      snapshot = await source.read();
    } catch (err) {
      stop(1, `one-time sync failed: cannot read the source: ${describeError(err)}`);
      return;
    }
    const result = await syncer.syncOnce(snapshot);
    if (result === 'published' || result === 'unchanged') stop(0, `one-time sync done: ${result}`);
    else stop(1, `one-time sync failed (${result}): ${syncer.lastProblem ?? 'see the log'}`);
  })();
  return {
    async close() {
      await done;
      await syncer.close();
      await source.close();
      client.close();
    },
  };
}
