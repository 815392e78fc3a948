/**
 * metrics-exporter: an adapter that turns the app's own stats (a JSON document, StatsD packets, Redis
 * INFO, MySQL status) into Prometheus metrics, read at scrape time and served on the admin server's
 * /metrics beside the process's own.
 */

import { defineComponent } from '../../../lib/component.js';
import { invalid } from '../../../lib/options.js';
import { metricsExporterOptions } from './options.js';

export const metricsExporter = defineComponent({
  options: metricsExporterOptions,

  check(options) {
    if (options.jsonUrl !== undefined && options.jsonMappingFile === undefined)
      throw invalid(
        'jsonMappingFile',
        'is required with --json-url: it says which values become which metrics',
      );
    if (options.jsonMappingFile !== undefined && options.jsonUrl === undefined)
      throw invalid('jsonUrl', 'is required with --json-mapping-file: it is where the JSON is read');
    if (options.jsonModule !== undefined && options.jsonMappingFile === undefined)
      throw invalid('jsonModule', 'needs --json-mapping-file');
    if (options.statsdMappingFile !== undefined && options.statsdListen === undefined)
      throw invalid('statsdMappingFile', 'needs --statsd-listen');
    if (
      options.jsonUrl === undefined &&
      options.statsdListen === undefined &&
      options.redisUrl === undefined &&
      options.mysqlUrl === undefined
    )
      throw invalid(
        'jsonUrl',
        'or another source is required: --json-url (with --json-mapping-file), --statsd-listen, --redis-url or --mysql-url',
      );
  },

  async start(options, ctx) {
    const { startExporter } = await import('./exporter.js');
    return startExporter(options, ctx);
  },
});
