/**
 * The pure parts, table-driven: kubectl JSONPath with podkit's additions, json_exporter's mapping file
 * (and its mistakes, with their lines), value reading, StatsD lines and mappings, the StatsD store's
 * ttl on a fake clock, and the name lint checked against the real promtool.
 */

import { type Counter, Registry } from 'prom-client';
import t from 'tap';
import { formatLabels, renderFamilies } from '../../../lib/exposition.js';
import { createLogger } from '../../../lib/log.js';
import { promtoolCheck } from '../../../test/support/metrics-check.js';
import { FamilyBuilder } from '../src/families.js';
import { MappingError, parseJsonMapping } from '../src/json-mapping.js';
import { toNumber, writeMapping } from '../src/json-source.js';
import { evaluate, parsePath, parseTemplate, renderTemplate } from '../src/jsonpath.js';
import { createMetrics } from '../src/metrics.js';
import { lintProblem, sanitizeName } from '../src/names.js';
import { redisName } from '../src/redis-info.js';
import { Skips } from '../src/skips.js';
import { parseLine } from '../src/statsd-line.js';
import { parseStatsdMapping, StatsdMappingError } from '../src/statsd-mapping.js';
import { StatsdStore } from '../src/statsd-store.js';

const doc = {
  counter: 1234,
  location: 'mars',
  values: [
    { id: 'id-A', count: 1, state: 'ACTIVE', name: 'api-a' },
    { id: 'id-B', count: 2, state: 'INACTIVE', name: 'web-b' },
    { id: 'id-C', count: 3, state: 'ACTIVE', name: 'api-c' },
  ],
  by_status: { 200: 5, 404: 1 },
  nested: { deep: { name: 'x' }, other: { name: 'y' } },
};

t.test('kubectl JSONPath and its extensions', async (t) => {
  const root = { value: doc, key: undefined };
  const values = (path: string) => evaluate(parsePath(path), root).map((node) => node.value);
  const cases: Array<[string, unknown[]]> = [
    ['.counter', [1234]],
    ['$.counter', [1234]],
    ['$', [doc]],
    ['.values[*].id', ['id-A', 'id-B', 'id-C']],
    ['.values[0].count', [1]],
    ['.values[-1].id', ['id-C']],
    ['.values[0:2].id', ['id-A', 'id-B']],
    ['.values[::2].id', ['id-A', 'id-C']],
    ["['counter','location']", [1234, 'mars']],
    ['.values[?(@.state == "ACTIVE")].id', ['id-A', 'id-C']],
    ['.values[?(@.state != "ACTIVE")].id', ['id-B']],
    ['.values[?(@.count == 2)].id', ['id-B']],
    ['.values[?(@.count >= 2)].id', ['id-B', 'id-C']],
    ['.values[?(@.count < "2")].id', ['id-A']],
    ['.values[?(@.name =~ /^api-/)].id', ['id-A', 'id-C']],
    ['.values[?(@.name !~ /^api-/)].id', ['id-B']],
    ['.values[?(@.state == "ACTIVE" && @.count > 1)].id', ['id-C']],
    ['.values[?(@.count == 1 || @.count == 3)].id', ['id-A', 'id-C']],
    ['.values[?(@.missing)].id', []],
    ['.values[?(@.id)].count', [1, 2, 3]],
    ['..name', ['api-a', 'web-b', 'api-c', 'x', 'y']],
    ['.by_status.*', [5, 1]],
    ['.by_status.*~', ['200', '404']],
    ['.nested.*.name', ['x', 'y']],
    ['.nope', []],
    ['.counter.deeper', []],
  ];
  for (const [path, expected] of cases) t.same(values(path), expected, path);

  t.equal(renderTemplate(parseTemplate('planet-{ .location }'), root).text, 'planet-mars');
  t.equal(
    renderTemplate(parseTemplate('{.values[*].count}'), root).text,
    '1 2 3',
    'several results, space-separated',
  );
  t.same(renderTemplate(parseTemplate('{.nope}'), root), { text: '', missing: true });
  const element = { value: { a: 1 }, key: 'the-key' };
  t.equal(renderTemplate(parseTemplate('{~}'), element).text, 'the-key', '{~} is the key of the element');

  for (const bad of [
    '{.a',
    '{range .items[*]}',
    '{.a[}',
    '{.a[?(@.x ==)]}',
    '{.a[x y]}',
    '{.a[?(@.x =~ /(/)]}',
  ]) {
    t.throws(() => parseTemplate(bad), `refused: ${bad}`);
  }
});

t.test('values are read as json_exporter reads them, strings through the value map', async (t) => {
  const converter = new Map([
    ['active', 1],
    ['inactive', 0],
  ]);
  const cases: Array<[unknown, number | undefined]> = [
    [3, 3],
    [true, 1],
    [false, 0],
    ['42', 42],
    ['-1.5e3', -1500],
    ['+Inf', Number.POSITIVE_INFINITY],
    ['true', 1],
    ['F', 0],
    ['ACTIVE', 1],
    ['Inactive', 0],
    ['degraded', undefined],
    ['', undefined],
    ['12 apples', undefined],
    ['constructor', undefined],
    [{ a: 1 }, undefined],
    [[1], undefined],
  ];
  for (const [value, expected] of cases) t.same(toNumber(value, converter), expected, JSON.stringify(value));
  t.ok(Number.isNaN(toNumber(null) as number), 'null is NaN, as in json_exporter');
});

t.test('names: sanitised, and the lint agrees with promtool', async (t) => {
  t.equal(sanitizeName('Threads_connected'), 'threads_connected');
  t.equal(sanitizeName('api.requests-OK'), 'api_requests_ok');
  t.equal(sanitizeName('usedMemoryRSS'), 'used_memory_rss');
  t.equal(sanitizeName('5xx.count'), '_5xx_count');
  t.equal(sanitizeName('...'), '');
  t.same(redisName('instantaneous_ops_per_sec'), { name: 'redis_instantaneous_ops_per_second', scale: 1 });
  t.same(redisName('total_connections_received'), { name: 'redis_connections_received_total', scale: 1 });
  t.same(redisName('latest_fork_usec'), { name: 'redis_latest_fork_seconds', scale: 1e-6 });

  const cases: Array<[string, 'counter' | 'gauge' | 'untyped' | 'histogram', string[]]> = [
    ['app_requests_total', 'counter', []],
    ['app_requests', 'counter', []],
    ['app_latency_ms_avg', 'gauge', []],
    ['app_latency_milliseconds', 'untyped', []],
    ['app_memory_kilobytes', 'gauge', []],
    ['app_size_mb', 'gauge', []],
    ['ms_first_token', 'gauge', []],
    ['app_widgets_gauge', 'gauge', []],
    ['app_widgets_counter_value', 'untyped', []],
    ['app_errors_total', 'gauge', []],
    ['app_errors_total', 'untyped', []],
    ['app_things_count', 'gauge', []],
    ['app_things_count', 'untyped', []],
    ['app_things_bucket', 'gauge', []],
    ['app_temperature_celsius', 'gauge', ['le']],
    ['app_temperature_celsius', 'gauge', ['quantile']],
    ['app_temperature_celsius', 'untyped', ['le']],
    ['app_wait_seconds', 'histogram', ['route']],
    ['app_ops_per_second', 'gauge', []],
    ['app_latest_fork_usec', 'gauge', []],
  ];
  for (const [name, type, labels] of cases) {
    const mine = lintProblem(name, type, labels);
    const labelText = formatLabels(labels.map((label) => [label, '1']));
    const samples =
      type === 'histogram'
        ? [
            { name: `${name}_bucket`, labels: '{route="a",le="+Inf"}', value: 1 },
            { name: `${name}_sum`, labels: '{route="a"}', value: 1 },
            { name: `${name}_count`, labels: '{route="a"}', value: 1 },
          ]
        : [{ name, labels: labelText, value: 1 }];
    const verdict = await promtoolCheck(
      renderFamilies([{ name, help: 'Help.', type, samples }], 'prometheus'),
    );
    t.equal(
      mine === undefined,
      verdict.ok,
      `${name} (${type}${labels.length ? `, ${labels}` : ''}): ${mine ?? 'clean'} / promtool: ${verdict.output || 'clean'}`,
    );
  }
});

function fixtures() {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const skips = new Skips(metrics.skipped as Counter<'source' | 'reason'>, createLogger('test', 'silent'));
  return { registry, metrics, skips };
}

const mappingText = `modules:
  default:
    metrics:
    - name: example_global_value
      path: '{ .counter }'
      help: Example of a top-level global value scrape in the json
      labels:
        environment: beta
        location: 'planet-{.location}'
    - name: example_value
      type: object
      help: Example of sub-level value scrapes from a json
      path: '{.values[?(@.state == "ACTIVE")]}'
      labels:
        environment: beta
        id: '{.id}'
      values:
        active: 1
        count: '{.count}'
    - name: example_state
      type: object
      path: '{.values[*]}'
      valuetype: gauge
      labels: { id: '{.id}' }
      values: { state: '{.state}' }
      valueconverter:
        '{ .state }': { ACTIVE: 1, inactive: 0 }
    - name: example_status
      type: object
      path: '{.by_status.*}'
      valuetype: counter
      labels: { status: '{~}' }
      values: { responses: '{@}' }
`;

t.test("json_exporter's example configuration, and podkit's additions, over a document", async (t) => {
  const mapping = parseJsonMapping(mappingText, undefined);
  t.equal(mapping.module, 'default');
  const { skips } = fixtures();
  const out = new FamilyBuilder('json', skips);
  writeMapping(doc, mapping, out);
  const text = renderFamilies(
    [...out.families.values()].map((f) => ({ ...f, samples: f.samples })),
    'prometheus',
  );
  t.match(text, /^example_global_value\{environment="beta",location="planet-mars"\} 1234$/m);
  t.match(text, /^example_value_active\{environment="beta",id="id-A"\} 1$/m);
  t.match(text, /^example_value_count\{environment="beta",id="id-C"\} 3$/m);
  t.notMatch(text, /id="id-B"\} 2/, 'the filter left INACTIVE out');
  t.match(text, /^example_state_state\{id="id-A"\} 1$/m);
  t.match(text, /^example_state_state\{id="id-B"\} 0$/m, 'the value map is case-insensitive');
  t.match(text, /^example_status_responses_total\{status="200"\} 5$/m);
  const lint = await promtoolCheck(text);
  t.ok(lint.ok, lint.output);
});

t.test('mapping mistakes name their line', async (t) => {
  const cases: Array<[string, number, RegExp]> = [
    [
      'modules:\n  default:\n    metrics:\n    - name: a\n      path: "{.a"\n',
      5,
      /cannot read "\{\.a": unclosed/,
    ],
    [
      'modules:\n  default:\n    metrics:\n    - name: a\n      path: "{.a}"\n      colour: red\n',
      6,
      /unknown key "colour"/,
    ],
    [
      'modules:\n  default:\n    metrics:\n    - name: a_latency_ms\n      path: "{.a}"\n',
      4,
      /abbreviated units.*promtool/,
    ],
    [
      'modules:\n  default:\n    metrics:\n    - name: a\n      path: "{.a}"\n      valuetype: summary\n',
      6,
      /valuetype must be gauge, counter or untyped/,
    ],
    [
      'modules:\n  default:\n    metrics:\n    - name: a\n      path: "{.a}"\n    - name: a\n      path: "{.b}"\n',
      6,
      /also made on line 4/,
    ],
    ['modules:\n  other:\n    metrics: []\n', 3, /no "metrics:" list/],
    [
      'modules:\n  default:\n    metrics:\n    - name: a\n      type: object\n      path: "{.a}"\n',
      4,
      /needs values/,
    ],
    ['modules: [unclosed\n', 2, /not valid YAML/],
    [
      'modules:\n  default:\n    metrics:\n    - name: a\n      engine: cel\n      path: ".a"\n',
      5,
      /engine "cel" is not supported/,
    ],
  ];
  for (const [text, line, message] of cases) {
    try {
      parseJsonMapping(text, undefined);
      t.fail(`accepted: ${text}`);
    } catch (err) {
      t.ok(err instanceof MappingError, String(err));
      t.equal((err as MappingError).line, line, (err as Error).message);
      t.match((err as Error).message, message);
    }
  }
  t.equal(
    parseJsonMapping('metrics:\n- name: a\n  path: "{.a}"\n', undefined).metrics.length,
    1,
    'the older top-level format',
  );
  const two =
    'modules:\n  a:\n    metrics: [{ name: x, path: "{.x}" }]\n  b:\n    metrics: [{ name: y, path: "{.y}" }]\n';
  t.equal(parseJsonMapping(two, 'b').module, 'b');
  t.throws(() => parseJsonMapping(two, undefined), /pick one with --json-module/);
});

t.test('StatsD lines', async (t) => {
  const ok: Array<[string, object]> = [
    ['a.b:1|c', { name: 'a.b', type: 'counter', value: 1 }],
    ['a:3|c|@0.5', { type: 'counter', value: 6 }],
    ['g:-2|g', { type: 'gauge', value: -2, delta: true }],
    ['g:2.5|g', { type: 'gauge', value: 2.5, delta: false }],
    ['t:250|ms|@0.1', { type: 'observer', value: 0.25, weight: 10 }],
    ['h:0.3|h', { type: 'observer', value: 0.3 }],
    [
      'd:7|d|#env:prod,host:a',
      {
        type: 'observer',
        value: 7,
        tags: [
          ['env', 'prod'],
          ['host', 'a'],
        ],
      },
    ],
    ['s:bob|s', { type: 'set', member: 'bob' }],
  ];
  for (const [line, expected] of ok) t.match(parseLine(line), expected, line);
  for (const bad of [
    '',
    'nocolon',
    ':1|c',
    'a:1',
    'a:x|c',
    'a:1|q',
    'a:1|c|@2',
    'a:1|c|@0',
    'a:1|c|#novalue',
    'a:1|c|junk',
  ]) {
    t.type(parseLine(bad), 'string', `malformed: ${JSON.stringify(bad)}`);
  }
});

t.test("statsd_exporter's mapping: globs, regexes, types, drop, and mistakes with their line", async (t) => {
  const mapping = parseStatsdMapping(`defaults:
  buckets: [0.1, 1]
mappings:
- match: "test.dispatcher.*.*.*"
  name: "dispatcher_events"
  labels: { processor: "$1", action: "$2", outcome: "\${3}", job: test }
- match: "(.*)\\\\.status\\\\.(\\\\d+)"
  match_type: regex
  name: "\${1}_status"
  labels: { code: "$2" }
- match: "debug.*"
  action: drop
- match: "lat.*"
  match_metric_type: observer
  name: lat_seconds
  buckets: [1, 2]
  ttl: 10s
`);
  t.match(mapping.resolve('test.dispatcher.p1.send.ok', 'counter'), {
    name: 'dispatcher_events',
    labels: [
      ['processor', 'p1'],
      ['action', 'send'],
      ['outcome', 'ok'],
      ['job', 'test'],
    ],
  });
  t.match(mapping.resolve('web.status.404', 'counter'), { name: 'web_status', labels: [['code', '404']] });
  t.equal(mapping.resolve('debug.anything', 'gauge'), 'drop');
  t.equal(mapping.resolve('test.dispatcher.too.few', 'counter'), undefined, '* is one dot-separated part');
  t.match(mapping.resolve('lat.x', 'observer'), { name: 'lat_seconds', buckets: [1, 2], ttlMs: 10_000 });
  t.equal(mapping.resolve('lat.x', 'counter'), undefined, 'match_metric_type');
  t.same(mapping.defaultBuckets, [0.1, 1]);

  const bad: Array<[string, number, RegExp]> = [
    ['mappings:\n- match: a.*\n  name: x\n  colour: red\n', 4, /unknown key "colour"/],
    ['mappings:\n- match: "(a"\n  match_type: regex\n  name: x\n', 2, /not a valid regular expression/],
    ['mappings:\n- match: a\n  name: a_size_mb\n', 3, /abbreviated units/],
    ['mappings:\n- match: a\n  name: x\n  timer_type: summary\n', 4, /not supported/],
    ['mappings:\n- match: a\n  name: x\n  ttl: soon\n', 4, /ttl must be a duration/],
    ['defaults:\n  buckets: [1, "x"]\n', 2, /buckets must be a list of numbers/],
  ];
  for (const [text, line, message] of bad) {
    try {
      parseStatsdMapping(text);
      t.fail(`accepted: ${text}`);
    } catch (err) {
      t.ok(err instanceof StatsdMappingError, String(err));
      t.equal((err as StatsdMappingError).line, line, (err as Error).message);
      t.match((err as Error).message, message);
    }
  }
});

t.test('the StatsD store: aggregation, a series limit, and the ttl on a fake clock', async (t) => {
  const { registry, metrics, skips } = fixtures();
  let now = 1_000_000;
  const store = new StatsdStore({
    ttlMs: 60_000,
    buckets: [0.1, 1],
    maxSeries: 4,
    mapping: () => parseStatsdMapping('mappings:\n- match: short.*\n  name: short_lived\n  ttl: 5s\n'),
    skips,
    metrics,
    now: () => now,
  });
  store.ingest('hits:1|c\nhits:1|c|@0.5\nlevel:10|g\nlevel:-3|g\nwait:500|ms\nwait:50|ms\nshort.x:1|g\n');
  store.ingest('one.too.many:1|g\nbroken line\nhits:-1|c');
  const out = new FamilyBuilder('statsd', skips);
  store.write(out);
  const text = renderFamilies(
    [...out.families.values()].map((f) => ({ ...f, samples: f.samples })),
    'prometheus',
  );
  t.match(text, /^hits_total 3$/m);
  t.match(text, /^level 7$/m);
  t.match(text, /^wait_bucket\{le="0.1"\} 1$/m);
  t.match(text, /^wait_bucket\{le="1"\} 2$/m);
  t.match(text, /^wait_sum 0.55$/m);
  t.match(text, /^short_lived 1$/m);
  t.notMatch(text, /one_too_many/, 'the fifth series is over --max-series');
  const counts = await registry.metrics();
  t.match(counts, /statsd_lines_total\{result="over_limit"\} 1/);
  t.match(counts, /series_dropped_total\{source="statsd"\} 1/);
  t.match(
    counts,
    /skipped_total\{source="statsd",reason="malformed"\} 2/,
    'a broken line and a counter going down',
  );

  now += 6_000;
  t.equal(store.sweep(), 1, 'the mapping ttl (5s) expired short_lived');
  now += 60_000;
  store.ingest('level:1|g');
  t.equal(store.sweep(), 2, '--statsd-ttl expired hits and wait; level was updated');
  t.equal(store.size, 1);
  t.match(await registry.metrics(), /statsd_expired_total 3/);
});
