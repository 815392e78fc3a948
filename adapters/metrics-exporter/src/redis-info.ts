/**
 * Redis INFO as metrics, the way redis_exporter names them: every numeric field is a gauge
 * `redis_<field>`, the fields that only grow are counters (`total_connections_received` ->
 * `redis_connections_received_total`), `db0:keys=..,expires=..` become `redis_db_keys{db="db0"}`,
 * `cmdstat_get:calls=..,usec=..` become `redis_commands_total{cmd="get"}` and its time, and the
 * instance's version, mode and role are the labels of `redis_instance_info`. Text fields are left out.
 */

import type { FamilyBuilder } from './families.js';

const counters = new Set([
  'total_connections_received',
  'total_commands_processed',
  'total_net_input_bytes',
  'total_net_output_bytes',
  'total_net_repl_input_bytes',
  'total_net_repl_output_bytes',
  'rejected_connections',
  'sync_full',
  'sync_partial_ok',
  'sync_partial_err',
  'expired_keys',
  'expired_stale_perc',
  'evicted_keys',
  'evicted_clients',
  'keyspace_hits',
  'keyspace_misses',
  'total_error_replies',
  'total_reads_processed',
  'total_writes_processed',
  'total_forks',
  'total_eviction_exceeded_time',
  'unexpected_error_replies',
  'dump_payload_sanitizations',
  'io_threaded_reads_processed',
  'io_threaded_writes_processed',
  'acl_access_denied_auth',
  'acl_access_denied_cmd',
  'acl_access_denied_key',
  'acl_access_denied_channel',
]);

const infoLabels = ['redis_version', 'redis_mode', 'role', 'os', 'arch_bits'];

/** `field` as a metric name and the factor its value is scaled by (microseconds become seconds). */
export function redisName(field: string): { name: string; scale: number } {
  let name = field.toLowerCase();
  let scale = 1;
  if (name.endsWith('_usec')) {
    name = `${name.slice(0, -5)}_seconds`;
    scale = 1e-6;
  } else if (name.endsWith('_msec') || name.endsWith('_ms')) {
    name = `${name.replace(/_m(sec|s)$/, '')}_seconds`;
    scale = 1e-3;
  } else if (name.endsWith('_sec')) {
    name = name.includes('_per_') ? `${name.slice(0, -4)}_second` : `${name.slice(0, -4)}_seconds`;
  }
  if (counters.has(field)) name = `${name.replace(/^total_/, '')}_total`;
  return { name: `redis_${name}`, scale };
}

export function writeRedisInfo(info: string, out: FamilyBuilder): void {
  const instance: Array<readonly [string, string]> = [];
  for (const raw of info.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (infoLabels.includes(field)) {
      instance.push([field, value]);
      continue;
    }
    if (/^db\d+$/.test(field)) {
      for (const [key, number] of pairs(value)) {
        const family = out.family(
          `redis_db_${key}`,
          'gauge',
          `Keyspace ${key} per database (INFO keyspace).`,
          ['db'],
        );
        if (family) out.add(family, [['db', field]], key === 'avg_ttl' ? number / 1000 : number);
      }
      continue;
    }
    if (field.startsWith('cmdstat_')) {
      const cmd = field.slice('cmdstat_'.length);
      const stats = new Map(pairs(value));
      const calls = out.family('redis_commands_total', 'counter', 'Calls per command (INFO commandstats).', [
        'cmd',
      ]);
      const time = out.family(
        'redis_commands_duration_seconds_total',
        'counter',
        'Time spent per command (INFO commandstats).',
        ['cmd'],
      );
      if (calls && stats.has('calls')) out.add(calls, [['cmd', cmd]], stats.get('calls') as number);
      if (time && stats.has('usec')) out.add(time, [['cmd', cmd]], (stats.get('usec') as number) / 1e6);
      continue;
    }
    if (!/^-?\d+(\.\d+)?$/.test(value)) continue;
    const { name, scale } = redisName(field);
    const type = counters.has(field) ? 'counter' : 'gauge';
    const family = out.family(name, type, `Redis INFO ${field}.`);
    if (family) out.add(family, [], Number(value) * scale);
  }
  const infoFamily = out.family(
    'redis_instance_info',
    'gauge',
    'Always 1; labels name the Redis version, mode and role.',
    infoLabels,
  );
  if (infoFamily && instance.length) out.add(infoFamily, instance, 1);
}

function pairs(text: string): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const number = Number(pair.slice(eq + 1));
    if (eq > 0 && Number.isFinite(number)) out.push([pair.slice(0, eq), number]);
  }
  return out;
}
