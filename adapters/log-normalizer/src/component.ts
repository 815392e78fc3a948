/**
 * log-normalizer: the logging adapter. Whatever an app writes (per-level files, stdout, JSON, syslog,
 * glog, log4j with stack traces, access logs, logfmt), it writes one JSON record per line to its own
 * stdout, where the cluster expects logs (`kubectl logs`): time in UTC, a normalised level, the message,
 * the source, then the parsed fields. Its own logs go to stderr, so they never mix with the records.
 */

import { defineComponent } from '../../../lib/component.js';
import { invalid } from '../../../lib/options.js';
import { logNormalizerOptions } from './options.js';
import { stdinOnly } from './settings.js';

export const logNormalizer = defineComponent({
  options: logNormalizerOptions,

  check(options) {
    if (options.input.length === 0)
      throw invalid('input', 'is required: a file glob such as /var/log/app/*.log, or - for stdin');
    if (options.format === 'regex' && options.pattern === undefined)
      throw invalid('pattern', 'is required with --format regex: a regular expression with named groups');
    if (options.format !== 'regex' && options.pattern !== undefined)
      throw invalid('pattern', 'applies to --format regex only');
  },

  async oneShot(options, io, given) {
    // A pipe (`app | podkit log-normalizer --input -`) needs no admin server, unless one is asked for.
    if (!stdinOnly(options) || given.has('adminAddress')) return undefined;
    const { runStdin } = await import('./stdin-run.js');
    return runStdin(options, io);
  },

  async start(options, ctx) {
    const { startAdapter } = await import('./adapter.js');
    return startAdapter(options, ctx);
  },
});
