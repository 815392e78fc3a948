/**
 * StatsD over real UDP datagrams: counters with sample rates, gauges set and changed, timers into
 * histogram buckets, sets, DogStatsD tags, a mapping with globs and drop; malformed packets counted
 * while the good lines beside them count; and series leaving after --statsd-ttl.
 */

import { createSocket } from 'node:dgram';
import t from 'tap';
import type { Started } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { checkedMetrics, metricValue, scrape, startExporter, tempDir, writeFile } from './helpers.js';

async function statsdAddress(exporter: Started): Promise<{ host: string; port: number }> {
  const line = await exporter.waitForLog((l) => l.msg === 'listening' && l.listener === 'statsd');
  const [host, port] = String(line.address).split(':');
  return { host: host as string, port: Number(port) };
}

/** Sends each datagram and resolves once the exporter has received them all (its packet count). */
async function send(exporter: Started, datagrams: string[]): Promise<void> {
  const { host, port } = await statsdAddress(exporter);
  const before = await packets(exporter);
  const socket = createSocket('udp4');
  for (const datagram of datagrams) {
    await new Promise<void>((resolve, reject) =>
      socket.send(datagram, port, host, (err) => (err ? reject(err) : resolve())),
    );
  }
  socket.close();
  await waitFor(async () => (await packets(exporter)) >= before + datagrams.length, {
    what: 'the datagrams counted',
  });
}

async function packets(exporter: Started): Promise<number> {
  const text = await checkedMetrics(exporter.adminUrl);
  return metricValue(text ?? '', 'podkit_metrics_exporter_statsd_packets_total') ?? 0;
}

const mapping = `defaults:
  buckets: [0.05, 0.5]
mappings:
- match: "checkout.*.orders"
  name: "shop_orders"
  labels: { region: "$1" }
  help: Orders by region.
- match: "debug.*"
  action: drop
`;

t.test(
  'counters, gauges, timers, sets and tags over UDP; malformed lines counted; a mapping applied',
  async (t) => {
    const mappingFile = writeFile(tempDir(), 'statsd.yml', mapping);
    const exporter = await startExporter(t, [
      '--statsd-listen',
      '127.0.0.1:0',
      '--statsd-mapping-file',
      mappingFile,
    ]);
    await send(exporter, [
      'page.views:1|c\npage.views:1|c|@0.25',
      'queue.depth:10|g\nqueue.depth:-4|g\nqueue.depth:+1|g',
      'api.latency:20|ms|#route:/users,code:200\napi.latency:300|ms|#route:/users,code:200\napi.latency:900|ms|#route:/users,code:200',
      'visitors:alice|s\nvisitors:bob|s\nvisitors:alice|s',
      'checkout.eu.orders:3|c\ncheckout.us.orders:2|c',
      'debug.noise:1|c',
      'garbage without a colon\npage.views:1|c\nlatency:fast|ms\n\u0000\u0001binary:1|q',
      'hostile.tag:1|g|#who:"} 1\\n# EOF',
      'request.time_ms:5|g',
    ]);
    const text = await scrape(t, exporter.adminUrl);
    t.equal(
      metricValue(text, 'page_views_total'),
      6,
      '1 + 1/0.25 + 1 (the good line of the malformed datagram)',
    );
    t.equal(metricValue(text, 'queue_depth'), 7, 'set to 10, then -4, then +1');
    t.equal(
      metricValue(text, 'api_latency_bucket{code="200",route="/users",le="0.05"}'),
      1,
      'timers in seconds',
    );
    t.equal(metricValue(text, 'api_latency_bucket{code="200",route="/users",le="0.5"}'), 2);
    t.equal(metricValue(text, 'api_latency_bucket{code="200",route="/users",le="+Inf"}'), 3);
    t.equal(metricValue(text, 'api_latency_count{code="200",route="/users"}'), 3);
    t.equal(metricValue(text, 'api_latency_sum{code="200",route="/users"}'), 1.22);
    t.equal(metricValue(text, 'visitors'), 2, 'a set counts distinct members');
    t.equal(metricValue(text, 'shop_orders_total{region="eu"}'), 3, 'glob mapping: name and label');
    t.equal(metricValue(text, 'shop_orders_total{region="us"}'), 2);
    t.match(text, /^# HELP shop_orders_total Orders by region\.$/m);
    t.notMatch(text, /debug/, 'dropped by the mapping');
    t.equal(metricValue(text, 'hostile_tag{who="\\"} 1\\\\n# EOF"}'), 1, 'a hostile tag value, escaped');
    t.notMatch(text, /request_time/, 'a name promtool would flag is skipped');
    t.equal(
      metricValue(text, 'podkit_metrics_exporter_skipped_total{source="statsd",reason="malformed"}'),
      3,
    );
    t.equal(metricValue(text, 'podkit_metrics_exporter_skipped_total{source="statsd",reason="name"}'), 1);
    t.equal(metricValue(text, 'podkit_metrics_exporter_statsd_lines_total{result="dropped"}'), 1);
    t.equal(metricValue(text, 'podkit_metrics_exporter_up{source="statsd"}'), 1);
    const malformed = await exporter.waitForLog((line) => line.reason === 'malformed');
    t.match(malformed.example, /garbage without a colon/);
    await scrape(t, exporter.adminUrl, 'openmetrics');
    t.equal(exporter.exit, undefined, 'still running');
  },
);

t.test('a series not updated for --statsd-ttl disappears; one that is updated stays', async (t) => {
  // 5 s: room for a scrape on a busy machine between a send and the reading of what it sent.
  const ttlMs = 5000;
  const exporter = await startExporter(t, ['--statsd-listen', '127.0.0.1:0', '--statsd-ttl', '5s']);
  const sent = Date.now();
  await send(exporter, ['short.lived:1|c\nkept.alive:1|g']);
  const first = await scrape(t, exporter.adminUrl);
  t.equal(metricValue(first, 'short_lived_total'), 1);
  t.equal(metricValue(first, 'kept_alive'), 1);

  // Keep one series fresh while the other one's ttl runs out.
  let last = '';
  await waitFor(
    async () => {
      await send(exporter, ['kept.alive:2|g']);
      last = (await checkedMetrics(exporter.adminUrl)) ?? '';
      return metricValue(last, 'short_lived_total') === undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'short_lived_total to expire' },
  );
  t.ok(Date.now() - sent >= ttlMs - 100, 'not before the ttl');
  t.equal(metricValue(last, 'kept_alive'), 2, 'the updated series stays');
  const after = await scrape(t, exporter.adminUrl);
  t.ok((metricValue(after, 'podkit_metrics_exporter_statsd_expired_total') as number) >= 1);
  t.notMatch(after, /^# TYPE short_lived_total/m, 'the family is gone too');

  await send(exporter, ['short.lived:5|c']);
  t.equal(metricValue(await scrape(t, exporter.adminUrl), 'short_lived_total'), 5, 'it comes back from zero');
});

t.test(
  'a bad StatsD mapping exits 2 naming its line, and a SIGHUP with one keeps the running mapping',
  async (t) => {
    const dir = tempDir();
    const bad = writeFile(
      dir,
      'bad.yml',
      'mappings:\n- match: "a.*"\n  name: a\n  labels: { x: "$1" }\n  action: explode\n',
    );
    const { runPodkit } = await import('../../../test/support/process.js');
    const refused = await runPodkit([
      'metrics-exporter',
      '--statsd-listen',
      '127.0.0.1:0',
      '--statsd-mapping-file',
      bad,
    ]);
    t.equal(refused.code, 2);
    t.match(refused.stderr, new RegExp(`--statsd-mapping-file ${bad} line 5: action must be map or drop`));

    const file = writeFile(
      dir,
      'good.yml',
      'mappings:\n- match: "jobs.*"\n  name: jobs_done\n  labels: { kind: "$1" }\n',
    );
    const exporter = await startExporter(t, [
      '--statsd-listen',
      '127.0.0.1:0',
      '--statsd-mapping-file',
      file,
    ]);
    writeFile(
      dir,
      'good.yml',
      'mappings:\n- match: "jobs.*"\n  name: jobs_finished\n  labels: { kind: "$1" }\n',
    );
    exporter.signal('SIGHUP');
    await exporter.waitForLog('mappings reloaded');
    await send(exporter, ['jobs.email:1|c']);
    t.equal(
      metricValue(await scrape(t, exporter.adminUrl), 'jobs_finished_total{kind="email"}'),
      1,
      'the new mapping',
    );

    writeFile(dir, 'good.yml', 'mappings:\n- match: "jobs.*"\n  nmae: typo\n');
    exporter.signal('SIGHUP');
    const refusal = await exporter.waitForLog('reload refused; the previous state keeps serving');
    t.match(refusal.err, /line 3: unknown key "nmae"/);
    await send(exporter, ['jobs.sms:1|c']);
    t.equal(
      metricValue(await scrape(t, exporter.adminUrl), 'jobs_finished_total{kind="sms"}'),
      1,
      'still the good mapping',
    );
  },
);
