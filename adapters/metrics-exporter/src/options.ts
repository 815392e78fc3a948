/**
 * metrics-exporter's option spec. It imports only lib/ and pure parsers (its own --redis-url and
 * db-health's --mysql-url), so other components load it cheaply to learn its names.
 */

import { tlsClientOptions } from '../../../lib/option-groups/tls-client.js';
import { parseNumber } from '../../../lib/option-types.js';
import { opt } from '../../../lib/options.js';
import { parseMysqlUrl } from '../../db-health/src/mysql-url.js';
import { parseRedisUrl } from './redis-url.js';

export const metricsExporterOptions = {
  jsonUrl: opt.url({
    protocols: ['http', 'https'],
    description: "The app's own JSON stats, read at every scrape (with --json-mapping-file).",
  }),
  jsonMappingFile: opt.file({
    mustExist: true,
    description:
      "How the JSON becomes metrics: json_exporter's configuration (modules: name, path, type, help, labels, values, valuetype, valueconverter). SIGHUP reloads it.",
  }),
  jsonModule: opt.string({
    description: 'The module of --json-mapping-file to use; default: default, or its only module.',
  }),
  ...tlsClientOptions,
  statsdListen: opt.hostPort({
    description: 'Listen for StatsD (and DogStatsD tags) on this UDP address, e.g. 127.0.0.1:9125.',
  }),
  statsdMappingFile: opt.file({
    mustExist: true,
    description:
      "StatsD names to metric names and labels, in statsd_exporter's mapping format (globs or regexes, labels, drop, buckets, ttl). SIGHUP reloads it.",
  }),
  statsdTtl: opt.duration({
    default: '5m',
    description: 'A StatsD series not updated for this long disappears; 0 keeps series forever.',
  }),
  statsdBuckets: opt.list({
    default: '0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10',
    item: (raw) => parseNumber(raw),
    itemName: 'number',
    description:
      'Histogram buckets for StatsD timers (in seconds) and histograms, unless the mapping names others.',
  }),
  redisUrl: opt.custom(parseRedisUrl, {
    placeholder: '<url>',
    typeName: 'redis URL',
    description:
      'Export Redis INFO from redis://[user@]host:port[/db] (rediss:// for TLS), without a password.',
  }),
  redisPassword: opt.secret({ description: "The Redis user's password; read before every scrape." }),
  mysqlUrl: opt.custom(parseMysqlUrl, {
    placeholder: '<url>',
    typeName: 'mysql URL',
    description: 'Export global status and key variables of mysql://user@host:port/, without a password.',
  }),
  mysqlPassword: opt.secret({
    description: "The MySQL user's password; the file is re-read for every new connection.",
  }),
  scrapeTimeout: opt.duration({
    default: '5s',
    min: '10ms',
    description: 'How long each source may take at a scrape; a slower one is reported as down (up 0).',
  }),
  maxSeries: opt.int({
    default: 20_000,
    min: 1,
    description:
      'The most translated series /metrics carries, and StatsD keeps; more are dropped and counted.',
  }),
};
