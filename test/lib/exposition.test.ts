/**
 * /metrics in both exposition formats: the Accept header picks one, the registry's metrics and a
 * source's families come out valid in each (promtool for the text format, the Python client's strict
 * parser for OpenMetrics), and hostile label values and help texts are escaped.
 */

import { Counter, Histogram } from 'prom-client';
import t from 'tap';
import { createAdminServer } from '../../lib/admin.js';
import {
  addExpositionSource,
  escapeLabelValue,
  type Family,
  formatLabels,
  negotiateFormat,
  renderRegistry,
} from '../../lib/exposition.js';
import { Health } from '../../lib/health.js';
import { createLogger } from '../../lib/log.js';
import { createRegistry } from '../../lib/metrics.js';
import { parseHostPort } from '../../lib/option-types.js';
import { httpRequest } from '../support/http.js';
import { openMetricsCheck, promtoolCheck } from '../support/metrics-check.js';

const prometheusAccept =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

t.test('the Accept header picks the format; anything unclear gets the text format', async (t) => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'prometheus'],
    ['', 'prometheus'],
    ['*/*', 'prometheus'],
    ['text/plain', 'prometheus'],
    ['text/plain;version=0.0.4', 'prometheus'],
    [prometheusAccept, 'openmetrics'],
    ['application/openmetrics-text', 'openmetrics'],
    ['application/openmetrics-text; version=1.0.0; charset=utf-8', 'openmetrics'],
    ['application/openmetrics-text;q=0.2,text/plain;q=0.9', 'prometheus'],
    ['application/openmetrics-text;q=0', 'prometheus'],
    ['application/json', 'prometheus'],
  ];
  for (const [accept, format] of cases) t.equal(negotiateFormat(accept), format, String(accept));
});

t.test('label values: backslash, quote and line feed escaped, nothing else touched', async (t) => {
  t.equal(escapeLabelValue('plain'), 'plain');
  t.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  t.equal(formatLabels([]), '');
  t.equal(
    formatLabels([
      ['a', '1'],
      ['b', '"'],
    ]),
    '{a="1",b="\\""}',
  );
});

const hostile = [
  'quote " here',
  'back\\slash',
  'new\nline',
  '} # EOF\n',
  'tab\there',
  'ünïcödé ✓',
  '\\"\\n',
  '',
];

function sourceFamilies(): Family[] {
  return [
    {
      name: 'app_requests_total',
      help: 'Requests "served", by path\\status\nsecond line.',
      type: 'counter',
      samples: hostile.map((path, i) => ({
        name: 'app_requests_total',
        labels: formatLabels([['path', path]]),
        value: i,
      })),
    },
    {
      name: 'app_temperature_celsius',
      help: 'Heat.',
      type: 'gauge',
      samples: [{ name: 'app_temperature_celsius', labels: '', value: -1.5 }],
    },
    {
      name: 'app_anything',
      help: 'Untyped.',
      type: 'untyped',
      samples: [{ name: 'app_anything', labels: '', value: Number.NaN }],
    },
  ];
}

function registryWithSource() {
  const registry = createRegistry();
  const counter = new Counter({
    name: 'test_events_total',
    help: 'Events.',
    labelNames: ['kind'],
    registers: [registry],
  });
  counter.inc({ kind: 'a"b' }, 3);
  const histogram = new Histogram({
    name: 'test_wait_seconds',
    help: 'Waits.',
    buckets: [0.1, 1],
    registers: [registry],
  });
  histogram.observe(0.5);
  addExpositionSource(registry, async () => sourceFamilies());
  return registry;
}

t.test('the registry and a source in the text format: promtool accepts it', async (t) => {
  const text = await renderRegistry(registryWithSource(), 'prometheus');
  t.match(text, /^test_events_total\{kind="a\\"b"\} 3$/m);
  t.match(text, /^# TYPE app_requests_total counter$/m);
  t.match(text, /^app_requests_total\{path="new\\nline"\} 2$/m);
  t.match(text, /^app_requests_total\{path="\} # EOF\\n"\} 3$/m);
  t.match(text, /^app_anything NaN$/m);
  t.notMatch(text, /# EOF\n$/);
  const lint = await promtoolCheck(text);
  t.ok(lint.ok, lint.output);
  t.equal(lint.output, '');
});

t.test(
  'the registry and a source in OpenMetrics: counters lose _total in the family, EOF last',
  async (t) => {
    const registry = registryWithSource();
    const text = await renderRegistry(registry, 'openmetrics');
    t.match(text, /^# TYPE test_events counter$/m);
    t.match(text, /^test_events_total\{kind="a\\"b"\} 3$/m);
    t.match(text, /^# TYPE app_requests counter$/m);
    t.match(text, /^# HELP app_requests Requests \\"served\\", by path\\\\status\\nsecond line\.$/m);
    t.match(text, /^# TYPE app_anything unknown$/m);
    t.match(text, /^test_wait_seconds_bucket\{le="\+Inf"\} 1$/m);
    t.ok(text.endsWith('\n# EOF\n'), 'ends with # EOF');
    t.equal(text.match(/^# EOF$/gm)?.length, 1, 'one # EOF: the hostile label value is inside quotes');
    const parsed = await openMetricsCheck(text);
    t.ok(parsed.ok, parsed.output);
    // prom-client's own OpenMetrics mode renames counters in place; the text format stays intact after.
    t.match(await renderRegistry(registry, 'prometheus'), /^# TYPE test_events_total counter$/m);
  },
);

t.test('the admin server negotiates /metrics and says it varies by Accept', async (t) => {
  const registry = registryWithSource();
  const admin = createAdminServer({ log: createLogger('test', 'silent'), registry, health: new Health() });
  const address = await admin.listen(parseHostPort('127.0.0.1:0'));
  t.teardown(() => admin.close());

  const text = await httpRequest(`http://${address}/metrics`);
  t.equal(text.status, 200);
  t.equal(text.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  t.equal(text.headers.vary, 'Accept');
  t.ok((await promtoolCheck(text.body)).ok);

  const om = await httpRequest(`http://${address}/metrics`, { headers: { accept: prometheusAccept } });
  t.equal(om.status, 200);
  t.equal(om.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  t.match(om.body, /# EOF\n$/);
  const parsed = await openMetricsCheck(om.body);
  t.ok(parsed.ok, parsed.output);
});
