/**
 * db-health: an adapter that gives an unmodified database container probes that mean something. It
 * runs real queries (built-in and custom) in a background loop on its own few connections and serves
 * the latest results as /healthz, /readyz and /startupz for the kubelet, plus metrics. With --probe it
 * is instead a one-shot exec probe that asks the running adapter.
 */

import { defineComponent } from '../../../lib/component.js';
import { invalid } from '../../../lib/options.js';
import { execProbe } from './exec-probe.js';
import { dbHealthOptions } from './options.js';

export const dbHealth = defineComponent({
  options: dbHealthOptions,

  check(options) {
    if (options.probe) return;
    if (options.mysqlUrl === undefined)
      throw invalid(
        'mysqlUrl',
        'is required: set --mysql-url or PODKIT_MYSQL_URL (mysql://user@host:port/database)',
      );
  },

  async oneShot(options, io) {
    return options.probe ? execProbe(options.probe, options.adminAddress, io) : undefined;
  },

  async start(options, ctx) {
    const { startAdapter } = await import('./adapter.js');
    return startAdapter(options, ctx);
  },
});
