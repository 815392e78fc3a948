/**
 * The JSON source with real processes: the legacy app's /stats mapped end to end (nested objects, an
 * array, map keys as labels, a string through a value map) in both exposition formats; the app gone
 * (up 0, the scrape still 200); what a hostile or broken app serves (escaped or skipped and counted,
 * never an invalid /metrics); --max-series and --scrape-timeout; the mapping refused at start and on
 * SIGHUP with its line.
 */

import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { httpRequest } from '../../../test/support/http.js';
import { freePort } from '../../../test/support/ports.js';
import { distDir, repoRoot, runPodkit, spawnNode, type Teardown } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { metricValue, scrape, startExporter, tempDir, writeFile } from './helpers.js';

const legacyMapping = join(repoRoot, 'examples', 'legacy-app', 'stats-mapping.yml');

async function startLegacyApp(t: Teardown) {
  const dir = tempDir('podkit-legacy-');
  const port = await freePort();
  const config = writeFile(dir, 'app.conf', `port = ${port}\nlog_dir = ${join(dir, 'logs')}\n`);
  const app = spawnNode(t, join(distDir, 'examples', 'legacy-app', 'src', 'main.js'), ['-c', config]);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await httpRequest(`${base}/health`).catch(() => undefined))?.status === 200, {
    what: 'legacy app /health',
  });
  return { app, base };
}

t.test("the legacy app's /stats, mapped end to end; the app gone is up 0 and still a 200", async (t) => {
  const { app, base } = await startLegacyApp(t);
  for (const path of ['/', '/', '/nope', '/fail']) await httpRequest(`${base}${path}`);
  const exporter = await startExporter(t, [
    '--json-url',
    `${base}/stats`,
    '--json-mapping-file',
    legacyMapping,
  ]);

  const text = await scrape(t, exporter.adminUrl);
  t.equal(metricValue(text, 'podkit_metrics_exporter_up{source="json"}'), 1);
  t.ok((metricValue(text, 'legacy_requests_total') as number) >= 4, 'nested value: requests.total');
  t.equal(metricValue(text, 'legacy_request_errors_total'), 1, 'the /fail 500');
  t.equal(metricValue(text, 'legacy_status_ok'), 1, '"ok" through the value map');
  t.equal(metricValue(text, 'legacy_responses_total{status="404"}'), 1, 'map key as a label');
  t.equal(metricValue(text, 'legacy_responses_total{status="500"}'), 1);
  t.equal(metricValue(text, 'legacy_path_requests_total{path="/"}'), 2);
  t.equal(metricValue(text, 'legacy_path_requests_total{path="/nope"}'), 1);
  t.ok(
    (metricValue(text, 'legacy_thread_requests_total{thread="http-1"}') as number) >= 1,
    'an array element',
  );
  t.match(text, /^legacy_thread_requests_total\{thread="http-4"\} \d+$/m, 'every element of the array');
  t.equal(metricValue(text, 'legacy_storage_healthy{kind="memory"}'), 1, 'a boolean, labelled from a string');
  t.match(text, /^legacy_app_info\{app="legacy-app",version="\d+\.\d+\.\d+"\} 1$/m);
  t.match(text, /^legacy_request_latency_maximum \d/m);
  t.match(text, /^# HELP legacy_responses_total Responses by HTTP status\.$/m);
  t.match(text, /^# TYPE legacy_responses_total counter$/m);
  t.match(text, /^podkit_build_info\{component="metrics-exporter"/m, "the process's own metrics beside them");

  const openMetrics = await scrape(t, exporter.adminUrl, 'openmetrics');
  t.match(openMetrics, /^# TYPE legacy_responses counter$/m);
  t.match(openMetrics, /^legacy_responses_total\{status="404"\} 1$/m);
  t.match(openMetrics, /^# TYPE legacy_status_ok gauge$/m);

  app.signal('SIGTERM');
  await app.exited;
  const down = await scrape(t, exporter.adminUrl);
  t.equal(metricValue(down, 'podkit_metrics_exporter_up{source="json"}'), 0, 'the app is down: up 0');
  t.notMatch(down, /^legacy_/m, 'no stale values from the app');
  t.match(down, /^podkit_metrics_exporter_scrape_duration_seconds\{source="json"\} /m);
  const logged = await exporter.waitForLog('source down: reported as podkit_metrics_exporter_up 0');
  t.match(logged.reason, /ECONNREFUSED/);
  t.equal(logged.code, 'PODKIT_ERR_METRICS_SOURCE');
});

/** An app whose /stats answers whatever the test sets, after an optional delay. */
async function fakeApp(t: Teardown) {
  let body = '{}';
  let delayMs = 0;
  const server: Server = createServer((_, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats`,
    serve(text: string, delay = 0) {
      body = text;
      delayMs = delay;
    },
  };
}

const mapMapping = `modules:
  default:
    metrics:
    - name: app_things
      type: object
      path: '{.things.*}'
      valuetype: gauge
      help: Things by name.
      labels: { name: '{~}' }
      values: { number: '{@}' }
    - name: app_state
      path: '{.state}'
      valuetype: gauge
`;

t.test(
  'hostile label values are escaped, unusable ones skipped, bad values and bad JSON counted',
  async (t) => {
    const app = await fakeApp(t);
    const dir = tempDir();
    const mapping = writeFile(dir, 'mapping.yml', mapMapping);
    const hostile = {
      'quote " here': 1,
      'back\\slash': 2,
      'new\nline': 3,
      '"} 1\n# EOF\nfake_metric 1': 4,
      'ünïcödé ✓ 🚀': 5,
      [`lone-${'\ud800'}-surrogate`]: 6,
      ['x'.repeat(3000)]: 7,
      plain: 'not a number',
    };
    app.serve(JSON.stringify({ things: hostile, state: 'sideways' }));
    const exporter = await startExporter(t, ['--json-url', app.url, '--json-mapping-file', mapping]);

    const text = await scrape(t, exporter.adminUrl);
    t.equal(metricValue(text, 'app_things_number{name="quote \\" here"}'), 1);
    t.equal(metricValue(text, 'app_things_number{name="back\\\\slash"}'), 2);
    t.equal(metricValue(text, 'app_things_number{name="new\\nline"}'), 3);
    t.equal(metricValue(text, 'app_things_number{name="\\"} 1\\n# EOF\\nfake_metric 1"}'), 4);
    t.equal(metricValue(text, 'app_things_number{name="ünïcödé ✓ 🚀"}'), 5);
    t.notMatch(text, /^fake_metric/m, 'nothing escaped into a line of its own');
    t.notMatch(text, /surrogate|xxxxxxxxxx/, 'a lone surrogate and an oversized value are skipped');
    t.equal(
      metricValue(text, 'podkit_metrics_exporter_skipped_total{source="json",reason="label_value"}'),
      2,
    );
    t.equal(
      metricValue(text, 'podkit_metrics_exporter_skipped_total{source="json",reason="non_numeric"}'),
      2,
      '"not a number" and "sideways"',
    );
    await scrape(t, exporter.adminUrl, 'openmetrics');
    const nonNumeric = await exporter.waitForLog((line) => line.reason === 'non_numeric');
    t.equal(nonNumeric.code, 'PODKIT_ERR_METRIC_SKIPPED');
    t.match(nonNumeric.example, /which is not a number \(a valueconverter maps texts to numbers\)/);

    await scrape(t, exporter.adminUrl);
    const logged = exporter.logs.filter((line) => line.reason === 'non_numeric');
    t.equal(logged.length, 1, 'logged once per kind, however many scrapes');

    app.serve('{"things": {"a": 1}, "truncated');
    const broken = await scrape(t, exporter.adminUrl);
    t.equal(
      metricValue(broken, 'podkit_metrics_exporter_up{source="json"}'),
      0,
      'malformed JSON: the source is down',
    );
    t.equal(
      metricValue(broken, 'podkit_metrics_exporter_skipped_total{source="json",reason="malformed"}'),
      1,
    );
    t.notMatch(broken, /^app_things/m);
  },
);

t.test('--max-series drops what is over it and counts it; --scrape-timeout bounds a slow app', async (t) => {
  const app = await fakeApp(t);
  const mapping = writeFile(tempDir(), 'mapping.yml', mapMapping);
  const things = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`thing-${i}`, i]));
  app.serve(JSON.stringify({ things, state: 1 }));
  const exporter = await startExporter(t, [
    ...['--json-url', app.url, '--json-mapping-file', mapping],
    ...['--max-series', '10', '--scrape-timeout', '300ms'],
  ]);
  const text = await scrape(t, exporter.adminUrl);
  t.equal(text.match(/^app_things_number\{/gm)?.length, 10, 'ten series, the limit');
  t.equal(metricValue(text, 'podkit_metrics_exporter_series{source="json"}'), 10);
  t.equal(
    metricValue(text, 'podkit_metrics_exporter_series_dropped_total{source="json"}'),
    41,
    '40 things and the state',
  );
  await exporter.waitForLog((line) => /--max-series reached/.test(line.msg ?? ''));

  app.serve(JSON.stringify({ things: {}, state: 1 }), 5000);
  const started = Date.now();
  const slow = await scrape(t, exporter.adminUrl);
  t.ok(Date.now() - started < 3000, `the scrape did not wait for the app (${Date.now() - started} ms)`);
  t.equal(metricValue(slow, 'podkit_metrics_exporter_up{source="json"}'), 0);
  t.ok(
    (metricValue(slow, 'podkit_metrics_exporter_scrape_duration_seconds{source="json"}') as number) >= 0.3,
  );
});

t.test(
  'the mapping: a bad file exits 2 naming its line; SIGHUP applies a good one and refuses a bad one',
  async (t) => {
    const dir = tempDir();
    const bad = writeFile(
      dir,
      'bad.yml',
      'modules:\n  default:\n    metrics:\n    - name: ok\n      path: "{.a}"\n    - name: broken\n      path: "{.a[}"\n',
    );
    const refused = await runPodkit([
      'metrics-exporter',
      '--json-url',
      'http://127.0.0.1:1/stats',
      '--json-mapping-file',
      bad,
    ]);
    t.equal(refused.code, 2);
    t.match(
      refused.stderr,
      new RegExp(`--json-mapping-file ${bad} line 7: metric "broken": cannot read "\\{\\.a\\[\\}"`),
    );
    const missingUrl = await runPodkit(['metrics-exporter', '--json-mapping-file', bad]);
    t.equal(missingUrl.code, 2);
    t.match(missingUrl.stderr, /--json-url is required with --json-mapping-file/);
    const nothing = await runPodkit(['metrics-exporter']);
    t.equal(nothing.code, 2);
    t.match(
      nothing.stderr,
      /--json-url \(with --json-mapping-file\), --statsd-listen, --redis-url or --mysql-url/,
    );

    const app = await fakeApp(t);
    app.serve('{"a": 1, "b": 2}');
    const mapping = writeFile(
      dir,
      'mapping.yml',
      'modules:\n  default:\n    metrics:\n    - name: first_value\n      path: "{.a}"\n',
    );
    const exporter = await startExporter(t, ['--json-url', app.url, '--json-mapping-file', mapping]);
    t.equal(metricValue(await scrape(t, exporter.adminUrl), 'first_value'), 1);

    writeFileSync(
      mapping,
      'modules:\n  default:\n    metrics:\n    - name: second_value\n      path: "{.b}"\n',
    );
    exporter.signal('SIGHUP');
    await exporter.waitForLog('mappings reloaded');
    const reloaded = await scrape(t, exporter.adminUrl);
    t.equal(metricValue(reloaded, 'second_value'), 2);
    t.notMatch(reloaded, /^first_value/m);

    writeFileSync(
      mapping,
      'modules:\n  default:\n    metrics:\n    - name: third_value\n      path: "{.b}"\n      valuetype: histogram\n',
    );
    exporter.signal('SIGHUP');
    const refusal = await exporter.waitForLog('reload refused; the previous state keeps serving');
    t.match(
      refusal.err,
      new RegExp(`${mapping} line 6: metric "third_value": valuetype must be gauge, counter or untyped`),
    );
    const kept = await scrape(t, exporter.adminUrl);
    t.equal(metricValue(kept, 'second_value'), 2, 'the running mapping stays');
    t.equal(metricValue(kept, 'podkit_reloads_total{result="failure"}'), 1);
  },
);
