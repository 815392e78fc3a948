/**
 * traffic-split's option spec: the single source of its flags, PODKIT_* variables, defaults and docs.
 * The experiment's own settings (primary, variants, stickiness, mirror, compare) may also come from
 * --config-file, under the same names, and change on SIGHUP; the rest is fixed for the process's life.
 */

import { opt } from '../../../lib/options.js';
import { parseHeaderName, parseIgnore, parseOrigin, parseSticky, parseVariant } from './parse.js';

export const trafficSplitOptions = {
  listen: opt.hostPort({
    default: '127.0.0.1:8000',
    description: 'Where the app sends its requests (plain HTTP/1.1).',
  }),
  primary: opt.custom((raw) => parseOrigin(raw), {
    placeholder: '<url>',
    typeName: 'url',
    description: 'The production version: http://host:port. Gets the traffic no variant takes.',
  }),
  variant: opt.list({
    item: parseVariant,
    itemName: 'name=url:weight',
    description:
      'A version that takes a share of the traffic, weight in percent (repeatable); the weights add up to 100 at most.',
  }),
  sticky: opt.custom(parseSticky, {
    default: 'none',
    placeholder: '<cookie:NAME|header:NAME|ip|none>',
    typeName: 'cookie:NAME|header:NAME|ip|none',
    description:
      'What keeps a user on one version: a cookie the split sets, a request header, the client address, or none (each request drawn anew).',
  }),
  overrideHeader: opt.string({
    default: 'X-Podkit-Variant',
    description:
      'A request carrying this header with a variant name (or primary) goes there, whatever the weights; empty turns it off.',
  }),
  variantHeader: opt.string({
    default: 'X-Podkit-Variant',
    description: 'Response header naming the version that answered; empty sends none.',
  }),
  preserveHost: opt.bool({
    description:
      "Send the client's Host header to the upstreams instead of their own host (the client's is always in X-Forwarded-Host).",
  }),
  mirror: opt.custom((raw) => parseOrigin(raw), {
    placeholder: '<url>',
    typeName: 'url',
    description:
      'A version that gets a copy of the traffic, whose answers are thrown away (or compared): http://host:port.',
  }),
  mirrorPercent: opt.number({
    default: 100,
    min: 0,
    max: 100,
    description: 'Share of the requests copied to the mirror, in percent.',
  }),
  mirrorMaxBody: opt.bytes({
    default: '1MiB',
    max: 1024 ** 3,
    description: 'Requests with a larger body are not mirrored (and are counted).',
  }),
  mirrorMaxInflight: opt.int({
    default: 64,
    min: 1,
    max: 100_000,
    description: 'Copies the mirror may have in flight; more are dropped (and counted).',
  }),
  mirrorTimeout: opt.duration({
    default: '5s',
    min: '1ms',
    description:
      'Longest a copy may take, from sending to the last byte of its answer; also how long a drain waits for copies.',
  }),
  compare: opt.bool({
    description: "Compare the mirror's answers with the primary's: status, --compare-header, and the body.",
  }),
  compareHeader: opt.list({
    default: 'content-type',
    item: parseHeaderName,
    itemName: 'name',
    description: 'Response headers whose values are compared (repeatable).',
  }),
  compareIgnore: opt.list({
    item: parseIgnore,
    itemName: 'header|$.path',
    description:
      'Header names and JSON paths left out of the comparison, e.g. date or $.timestamp, $.items[*].id (repeatable).',
  }),
  compareMaxBody: opt.bytes({
    default: '256KiB',
    max: 64 * 1024 ** 2,
    description:
      'Answers with a longer body are compared by status and headers only (and counted): the bodies are held to compare.',
  }),
  upstreamTimeout: opt.duration({
    default: '30s',
    min: '1ms',
    description:
      'Longest wait for the primary or a variant to connect, answer, or send the next body chunk: then 504.',
  }),
  upstreamConnections: opt.int({
    default: 128,
    min: 1,
    max: 10_000,
    description: 'Keep-alive connections to each upstream (the primary, each variant, the mirror).',
  }),
  poolWaitTimeout: opt.duration({
    default: '5s',
    description:
      'Longest a request waits for a free connection to its version (all --upstream-connections busy): then 503; 0: no bound (it waits up to --upstream-timeout in the pool).',
  }),
  configFile: opt.file({
    mustExist: true,
    description:
      'YAML file with the experiment (primary, variant, sticky, mirror*, compare*), read at start and on SIGHUP; its values win over flags.',
  }),
};
