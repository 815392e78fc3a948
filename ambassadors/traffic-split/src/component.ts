/**
 * podkit traffic-split: the app sends its requests to localhost; a share goes to variants instead of
 * the primary (sticky per user), a copy goes to a mirror whose answers are thrown away or compared with
 * the primary's, and the experiment page at /ui on the admin port shows how each version does.
 */

import { defineComponent } from '../../../lib/component.js';
import { ErrorCode } from '../../../lib/errors.js';
import { Upstreams } from '../../../lib/http-proxy/upstreams.js';
import { listen } from '../../../lib/http-server.js';
import { readConfigFile } from './config-file.js';
import { createMetrics } from './metrics.js';
import { trafficSplitOptions } from './options.js';
import { createSplitServer } from './server.js';
import {
  type ExperimentValues,
  experimentKeys,
  experimentSettings,
  type TrafficSplitOptions,
} from './settings.js';
import { Split } from './split.js';
import { StatsRing } from './stats.js';
import { registerUi } from './ui.js';

export const trafficSplit = defineComponent({
  options: trafficSplitOptions,
  check(options) {
    // With a config file, its fields are read and checked in start(), still before anything listens.
    if (options.configFile === undefined) experimentSettings(flagValues(options));
  },
  async start(options, ctx) {
    const { log } = ctx;
    // Everything is checked before anything listens: a bad split exits 2.
    const settings = experimentSettings(await experimentValues(options), sourceOf(options));
    const metrics = createMetrics(ctx.registry);
    const stats = new StatsRing();
    const upstreams = new Upstreams({
      onLoadFailed(upstream, err) {
        log.error(
          { code: ErrorCode.UPSTREAM, upstream, err: err.message },
          'cannot load the upstream pool: the requests waiting for it got 502; the next one tries again',
        );
      },
    });
    const split = new Split({
      upstreams,
      metrics,
      stats,
      health: ctx.health,
      log,
      overrideHeader: options.overrideHeader.trim().toLowerCase(),
      variantHeader: options.variantHeader.trim(),
      upstreamTimeoutMs: options.upstreamTimeout,
      upstreamConnections: options.upstreamConnections,
      poolWaitTimeoutMs: options.poolWaitTimeout,
    });
    split.apply(settings);
    const { server, connections } = createSplitServer({ split, log, preserveHost: options.preserveHost });
    let address: string;
    try {
      address = await listen(server, options.listen, 'traffic-split listener');
    } catch (err) {
      split.close();
      await upstreams.close();
      throw err;
    }
    log.info({ listener: 'split', address }, 'listening');
    const sampler = setInterval(() => stats.sample(), 1000);
    sampler.unref();
    registerUi(ctx.admin, { split, stats });

    return {
      async close() {
        await connections.drain();
        // The copies of the last requests: each ends within --mirror-timeout.
        await split.mirrorsIdle();
        clearInterval(sampler);
        split.close();
        await upstreams.close();
      },
      async reload() {
        if (options.configFile === undefined) throw new Error('nothing to reload: no --config-file');
        split.apply(experimentSettings(await experimentValues(options), sourceOf(options)));
      },
    };
  },
});

function flagValues(options: TrafficSplitOptions): ExperimentValues {
  return Object.fromEntries(experimentKeys.map((key) => [key, options[key]])) as ExperimentValues;
}

/** The flags' experiment, with the config file's fields over them. */
async function experimentValues(options: TrafficSplitOptions): Promise<ExperimentValues> {
  const values = flagValues(options);
  if (options.configFile === undefined) return values;
  return { ...values, ...(await readConfigFile(options.configFile)) };
}

function sourceOf(options: TrafficSplitOptions): string {
  return options.configFile === undefined ? '' : `with --config-file ${options.configFile}`;
}
