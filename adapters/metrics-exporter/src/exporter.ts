/**
 * The running exporter: the mapping files loaded and checked, the sources opened (the StatsD socket
 * bound), the collector added to the registry's /metrics, and SIGHUP reloading both mappings, each
 * checked whole before either replaces the running one.
 */

import { readFile } from 'node:fs/promises';
import type { ComponentContext, ComponentHandle, ComponentOptions } from '../../../lib/component.js';
import { addExpositionSource } from '../../../lib/exposition.js';
import { HttpClient } from '../../../lib/http-client.js';
import { invalid } from '../../../lib/options.js';
import { Collector } from './collector.js';
import { type JsonMapping, MappingError, parseJsonMapping } from './json-mapping.js';
import { JsonSource } from './json-source.js';
import { createMetrics } from './metrics.js';
import type { metricsExporterOptions } from './options.js';
import { Skips } from './skips.js';
import type { Source } from './source.js';
import {
  emptyMapping,
  parseStatsdMapping,
  type StatsdMapping,
  StatsdMappingError,
} from './statsd-mapping.js';
import { StatsdSource } from './statsd-source.js';
import { StatsdStore } from './statsd-store.js';

type Options = ComponentOptions<typeof metricsExporterOptions>;

export async function startExporter(options: Options, ctx: ComponentContext): Promise<ComponentHandle> {
  const { log } = ctx;
  const metrics = createMetrics(ctx.registry);
  const skips = new Skips(metrics.skipped, log);
  const loadJson = () => loadJsonMapping(options);
  const loadStatsd = () => loadStatsdMapping(options);

  // Both files are checked before anything is opened: a bad one exits 2 with nothing bound.
  let jsonMapping = options.jsonUrl === undefined ? undefined : await loadJson();
  let statsdMapping = await loadStatsd();
  if (jsonMapping?.ignored.length)
    log.warn(
      { ignored: jsonMapping.ignored },
      'json_exporter settings ignored: use --ca-file for a private CA, credentials in --json-url, or headers in the module',
    );

  const sources: Source[] = [];
  try {
    if (options.jsonUrl !== undefined) {
      const client = new HttpClient({ caFile: options.caFile });
      sources.push(new JsonSource(options.jsonUrl, client, () => jsonMapping as JsonMapping));
    }
    if (options.statsdListen !== undefined) {
      const store = new StatsdStore({
        ttlMs: options.statsdTtl,
        buckets: [...options.statsdBuckets].sort((a, b) => a - b),
        maxSeries: options.maxSeries,
        mapping: () => statsdMapping,
        skips,
        metrics,
      });
      const { source, address } = await StatsdSource.listen(options.statsdListen, store, options.statsdTtl);
      sources.push(source);
      log.info({ listener: 'statsd', address, protocol: 'udp' }, 'listening');
    }
    // ioredis and mysql2 are loaded only by the pods that read Redis or MySQL.
    if (options.redisUrl !== undefined) {
      const { RedisSource } = await import('./redis-source.js');
      sources.push(
        await RedisSource.create({
          url: options.redisUrl,
          password: options.redisPassword,
          caFile: options.caFile,
          log,
        }),
      );
    }
    if (options.mysqlUrl !== undefined) {
      const { MysqlSource } = await import('./mysql-source.js');
      sources.push(new MysqlSource(options.mysqlUrl, options.mysqlPassword, options.scrapeTimeout));
    }
  } catch (err) {
    await Promise.all(sources.map((source) => source.close().catch(() => {})));
    throw err;
  }

  const collector = new Collector(sources, {
    timeoutMs: options.scrapeTimeout,
    maxSeries: options.maxSeries,
    registry: ctx.registry,
    metrics,
    skips,
    log,
  });
  const removeSource = addExpositionSource(ctx.registry, () => collector.collect());
  log.info(
    {
      sources: sources.map((source) => source.name),
      jsonModule: jsonMapping?.module,
      jsonMetrics: jsonMapping?.metrics.length,
      scrapeTimeoutMs: options.scrapeTimeout,
      maxSeries: options.maxSeries,
    },
    'exporting',
  );

  return {
    async close() {
      removeSource();
      await Promise.all(sources.map((source) => source.close()));
    },
    async reload() {
      const nextJson = options.jsonUrl === undefined ? undefined : await loadJson();
      const nextStatsd = await loadStatsd();
      jsonMapping = nextJson;
      statsdMapping = nextStatsd;
      log.info(
        { jsonMetrics: nextJson?.metrics.length, statsdMapping: options.statsdMappingFile ?? 'none' },
        'mappings reloaded',
      );
    },
  };
}

async function readMapping(key: string, path: string): Promise<string> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw invalid(key, `${path}: cannot read: ${err.code ?? err.message}`);
  });
}

async function loadJsonMapping(options: Options): Promise<JsonMapping> {
  const path = options.jsonMappingFile as string;
  try {
    return parseJsonMapping(await readMapping('jsonMappingFile', path), options.jsonModule);
  } catch (err) {
    if (err instanceof MappingError)
      throw invalid('jsonMappingFile', `${path} line ${err.line}: ${err.message}`);
    throw err;
  }
}

async function loadStatsdMapping(options: Options): Promise<StatsdMapping> {
  const path = options.statsdMappingFile;
  if (path === undefined) return emptyMapping;
  try {
    return parseStatsdMapping(await readMapping('statsdMappingFile', path));
  } catch (err) {
    if (err instanceof StatsdMappingError)
      throw invalid('statsdMappingFile', `${path} line ${err.line}: ${err.message}`);
    throw err;
  }
}
