/**
 * traffic-split's pure parts, table-driven: option values, sticky assignment (over 10,000 keys, a
 * weight change moves exactly its share and nobody else), the JSON diff and answer comparison, latency
 * percentiles, and the config file's fields.
 */

import { writeFileSync } from 'node:fs';
import t from 'tap';
import { layout, murmurHash2, pick, pointOf } from '../src/assignment.js';
import { Comparison } from '../src/compare.js';
import { readConfigFile } from '../src/config-file.js';
import { compilePath, jsonDiff } from '../src/json-diff.js';
import { parseIgnore, parseSticky, parseVariant } from '../src/parse.js';
import { cookieValue } from '../src/router.js';
import { type ExperimentValues, experimentSettings } from '../src/settings.js';
import { quantileMs, StatsRing } from '../src/stats.js';
import { configFile } from './helpers.js';

t.test('--variant name=URL:weight: the weight after the last colon, a plain http origin', async (t) => {
  const beta = parseVariant('beta=http://app-beta:8080:10');
  t.same([beta.name, beta.url.origin, beta.weight], ['beta', 'http://app-beta:8080', 10]);
  const gamma = parseVariant(' gamma-2=http://10.0.0.7:2.5 ');
  t.same(
    [gamma.name, gamma.url.origin, gamma.weight],
    ['gamma-2', 'http://10.0.0.7', 2.5],
    'port 80 implied',
  );
  const bad: [string, RegExp][] = [
    ['beta', /name=URL:weight/],
    ['beta=http://app:8080', /weight a percentage from 0 to 100 \(got "\/\/app:8080"\)|weight/],
    ['beta=http://app:8080:101', /weight a percentage from 0 to 100 \(got "101"\)/],
    ['beta=http://app:8080:-1', /weight a percentage/],
    ['beta=http://app:8080:ten', /weight a percentage/],
    ['Beta=http://app:8080:5', /the name 1-32 of a-z/],
    ['primary=http://app:8080:5', /a name other than primary or mirror/],
    ['beta=https://app:8443:5', /the URL scheme "https" is not http/],
    ['beta=ftp://app:21:5', /the URL scheme "ftp" is not http/],
    ['beta=http://app:8080/v2:5', /without a path or query/],
    ['beta=not a url:5', /does not parse/],
  ];
  for (const [raw, message] of bad) t.throws(() => parseVariant(raw), message, raw);
});

t.test('--sticky and --compare-ignore values', async (t) => {
  t.same(parseSticky('cookie:podkit_variant'), { kind: 'cookie', name: 'podkit_variant' });
  t.same(parseSticky('header:X-User-Id'), { kind: 'header', name: 'x-user-id' }, 'header names lower-cased');
  t.same(parseSticky('ip'), { kind: 'ip' });
  t.same(parseSticky('none'), { kind: 'none' });
  for (const bad of ['cookie', 'cookie:', 'header:a b', 'session:x', 'IP'])
    t.throws(() => parseSticky(bad), /cookie:NAME, header:NAME, ip or none/, bad);
  t.equal(parseIgnore('Date'), 'date');
  t.equal(parseIgnore('$.timestamp'), '$.timestamp');
  t.equal(parseIgnore('$.items[*].id'), '$.items[*].id');
  t.equal(parseIgnore('$["a b"][2]'), '$["a b"][2]');
  for (const bad of ['$.', '$..a', '$.a[x]', 'no spaces']) t.throws(() => parseIgnore(bad), bad);
});

t.test('MurmurHash2: stable and spread evenly over [0, 1)', async (t) => {
  t.equal(murmurHash2(''), 0);
  t.equal(murmurHash2('user-1'), murmurHash2('user-1'), 'the same key, the same hash');
  t.not(murmurHash2('user-1'), murmurHash2('user-2'));
  const bins = new Array(10).fill(0);
  for (let i = 0; i < 10_000; i++) bins[Math.floor(pointOf(`user-${i}`) * 10)]++;
  // Chi-square with 9 degrees of freedom: above 27.9 happens by chance once in a thousand.
  const chi = bins.reduce((sum, n) => sum + (n - 1000) ** 2 / 1000, 0);
  t.ok(chi < 27.9, `chi-square ${chi.toFixed(1)} over 10 bins (${bins.join(' ')})`);
});

const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function assign(weights: Record<string, number>): string[] {
  const { ranges } = layout(Object.entries(weights).map(([target, weight]) => ({ target, weight })));
  return keys.map((key) => pick(ranges, pointOf(key)) ?? 'primary');
}

/** How many keys moved, by `from->to`. */
function moves(before: string[], after: string[]): Record<string, number> {
  const moved: Record<string, number> = {};
  before.forEach((from, i) => {
    const to = after[i] as string;
    if (from !== to) moved[`${from}->${to}`] = (moved[`${from}->${to}`] ?? 0) + 1;
  });
  return moved;
}

/** Within four standard deviations of a binomial count over the 10,000 keys. */
function near(
  t: { ok(value: boolean, message: string): unknown },
  count: number,
  share: number,
  what: string,
): void {
  const expected = keys.length * share;
  const sigma = Math.sqrt(keys.length * share * (1 - share));
  t.ok(
    Math.abs(count - expected) <= 4 * sigma,
    `${what}: ${count}, expected ${expected} ± ${(4 * sigma).toFixed(0)}`,
  );
}

t.test('sticky assignment: exact shares, and a weight change moves only its own share', async (t) => {
  const before = assign({ beta: 10, gamma: 15 });
  const counts = (list: string[], name: string) => list.filter((v) => v === name).length;
  near(t, counts(before, 'beta'), 0.1, 'beta at 10%');
  near(t, counts(before, 'gamma'), 0.15, 'gamma at 15%');
  t.same(assign({ beta: 10, gamma: 15 }), before, 'the same keys land on the same versions again');

  const grown = assign({ beta: 20, gamma: 15 });
  const moved = moves(before, grown);
  t.same(Object.keys(moved), ['primary->beta'], 'beta 10% -> 20%: users move from the primary to beta only');
  near(t, moved['primary->beta'] ?? 0, 0.1, 'and 10% of them');

  const shrunk = moves(grown, assign({ beta: 20, gamma: 5 }));
  t.same(Object.keys(shrunk), ['gamma->primary'], 'gamma 15% -> 5%: only gamma users go back to the primary');
  near(t, shrunk['gamma->primary'] ?? 0, 0.1, 'and 10% of them');

  // Three variants: two lanes, the third alone in the second.
  const three = assign({ beta: 10, gamma: 10, delta: 10 });
  const deltaUp = moves(three, assign({ beta: 10, gamma: 10, delta: 25 }));
  t.same(Object.keys(deltaUp), ['primary->delta'], 'three variants: delta grows from the primary only');
  near(t, deltaUp['primary->delta'] ?? 0, 0.15, 'by 15%');
});

t.test('weights that do not fit their lanes are laid end to end, still exact', async (t) => {
  const fitted = layout([
    { target: 'a', weight: 60 },
    { target: 'b', weight: 30 },
    { target: 'c', weight: 5 },
  ]);
  t.equal(fitted.kind, 'end-to-end', 'a and b share a lane of half the interval: 90% does not fit');
  t.same(
    fitted.ranges.map((r) => [r.target, Number((r.hi - r.lo).toFixed(6))]),
    [
      ['a', 0.6],
      ['b', 0.3],
      ['c', 0.05],
    ],
  );
  t.equal(layout([{ target: 'a', weight: 100 }]).kind, 'lanes', 'one variant may take everything');
  t.equal(
    layout([
      { target: 'a', weight: 70 },
      { target: 'b', weight: 30 },
    ]).kind,
    'lanes',
    'two may share all',
  );
  t.equal(pick(layout([{ target: 'a', weight: 0 }]).ranges, 0), undefined, 'a weight of 0 takes nobody');
});

t.test('the value of a cookie in a Cookie header', async (t) => {
  const header = 'theme=dark; podkit_variant=beta.0123456789abcdef;other="q v"';
  t.equal(cookieValue(header, 'podkit_variant'), 'beta.0123456789abcdef');
  t.equal(cookieValue(header, 'other'), 'q v', 'quotes removed');
  t.equal(cookieValue(header, 'podkit'), undefined, 'a prefix is not a match');
  t.equal(cookieValue('', 'theme'), undefined);
});

t.test(
  'JSON diff: paths a person reads; key order ignored; ignored paths and everything under them',
  async (t) => {
    const primary = {
      id: 7,
      at: '10:00',
      items: [
        { id: 'a', price: 10 },
        { id: 'b', price: 5 },
      ],
      meta: { v: 1 },
      'odd key': 1,
    };
    const mirror = {
      items: [{ id: 'x', price: 12 }, { id: 'y', price: 5 }, { id: 'z' }],
      id: 7,
      at: '10:01',
      extra: true,
      'odd key': 2,
    };
    const all = jsonDiff(primary, mirror, []);
    t.same(
      all.differences.map((d) => [d.kind, d.path, d.primary, d.mirror]),
      [
        ['changed', '$.at', '"10:00"', '"10:01"'],
        ['changed', '$.items[0].id', '"a"', '"x"'],
        ['changed', '$.items[0].price', '10', '12'],
        ['changed', '$.items[1].id', '"b"', '"y"'],
        ['added', '$.items[2]', undefined, '{"id":"z"}'],
        ['removed', '$.meta', '{"v":1}', undefined],
        ['changed', '$["odd key"]', '1', '2'],
        ['added', '$.extra', undefined, 'true'],
      ],
    );
    const ignored = jsonDiff(
      primary,
      mirror,
      ['$.at', '$.items[*].id', '$.meta', '$["odd key"]'].map(compilePath),
    );
    t.same(
      ignored.differences.map((d) => d.path),
      ['$.items[0].price', '$.items[2]', '$.extra'],
    );
    t.equal(jsonDiff({ a: [1, 2] }, { a: [1, 2] }, []).count, 0, 'equal values: no difference');
    t.equal(jsonDiff(1, '1', []).differences[0]?.path, '$', 'different types at the root');
    const many = jsonDiff(
      Array.from({ length: 50 }, (_, i) => i),
      Array.from({ length: 50 }, (_, i) => -i),
      [],
      5,
    );
    t.equal(many.count, 49, 'all differences are counted');
    t.equal(many.differences.length, 5, 'the first few are kept');
  },
);

const head = (type: string, extra: string[] = []) => [
  Buffer.from('Content-Type'),
  Buffer.from(type),
  ...extra.map((s) => Buffer.from(s)),
];

t.test('comparing answers: status, chosen headers, JSON or text bodies, bodies over the bound', async (t) => {
  const comparison = new Comparison({
    headers: ['content-type', 'cache-control'],
    ignorePaths: ['$.timestamp'],
  });
  const json = (body: unknown, extra: string[] = []) => ({
    status: 200,
    rawHeaders: head('application/json', extra),
    body: Buffer.from(JSON.stringify(body)),
  });
  t.same(
    comparison.compare(json({ a: 1, timestamp: 1 }), json({ timestamp: 2, a: 1 })),
    { mismatch: undefined, bodyCompared: true },
    'equal but for an ignored path',
  );
  const differs = comparison.compare(json({ a: 1 }, ['Cache-Control', 'no-store']), {
    ...json({ a: 2 }),
    status: 500,
  });
  t.same(differs.mismatch?.kinds, ['status', 'header', 'body']);
  t.same(differs.mismatch?.status, { primary: 200, mirror: 500 });
  t.same(differs.mismatch?.headers, [{ name: 'cache-control', primary: 'no-store', mirror: null }]);
  t.same(
    differs.mismatch?.body.map((d) => d.path),
    ['$.a'],
  );

  const text = (body: string) => ({ status: 200, rawHeaders: head('text/plain'), body: Buffer.from(body) });
  const lines = comparison.compare(text('one\ntwo\nthree'), text('one\n2\nthree\nfour'));
  t.same(lines.mismatch?.body, [{ path: 'line 2', kind: 'changed', primary: '"two"', mirror: '"2"' }]);
  t.equal(lines.mismatch?.bodyCount, 2, 'two lines differ');
  const large = comparison.compare({ ...text('a'), body: undefined }, text('b'));
  t.same(
    large,
    { mismatch: undefined, bodyCompared: false },
    'a body over the bound: status and headers only',
  );
});

t.test('latency percentiles from buckets; per-second series', async (t) => {
  const ring = new StatsRing(3);
  const counts = ring.track('primary');
  t.equal(ring.track('primary'), counts, 'one set of counts per name');
  ring.sample();
  for (let i = 0; i < 98; i++) counts.observe(0.002);
  counts.observe(0.2);
  counts.observe(0.2);
  counts.answers += 100;
  counts.errors += 5;
  ring.sample();
  const series = ring.series().primary;
  const p50 = series?.p50.at(-1) ?? 0;
  const p99 = series?.p99.at(-1) ?? 0;
  t.ok(p50 >= 1.7 && p50 <= 2.3, `p50 ${p50} ms for answers of 2 ms (buckets 12% apart)`);
  t.ok(p99 >= 170 && p99 <= 230, `p99 ${p99} ms with 2% of answers at 200 ms`);
  t.equal(series?.errorRate.at(-1), 5, '5% of answers were 5xx');
  t.ok((series?.rps.at(-1) ?? 0) > 0);
  ring.sample();
  ring.sample();
  t.equal(ring.times.length, 3, 'the ring keeps its length');
  t.same(series?.p50.slice(-2), [null, null], 'seconds without answers have no latency');
  t.equal(quantileMs(new Float64Array(4), 0, 0.5) >= 0, true);
});

const base: ExperimentValues = {
  primary: new URL('http://app:8080'),
  variant: [],
  sticky: { kind: 'none' },
  mirror: undefined,
  mirrorPercent: 100,
  mirrorMaxBody: 1024,
  mirrorMaxInflight: 64,
  mirrorTimeout: 5000,
  compare: false,
  compareHeader: ['content-type'],
  compareIgnore: [],
  compareMaxBody: 1024,
};

t.test('the experiment as a whole: weights, names, compare needs a mirror', async (t) => {
  const variants = (...specs: string[]) => specs.map(parseVariant);
  t.equal(
    experimentSettings({ ...base, variant: variants('a=http://a:1:33.33', 'b=http://b:1:66.67') }).variants
      .length,
    2,
  );
  t.throws(
    () => experimentSettings({ ...base, variant: variants('a=http://a:1:60', 'b=http://b:1:50') }),
    /--variant weights add up to 110%: at most 100 \(a 60 \+ b 50\)/,
  );
  t.throws(
    () => experimentSettings({ ...base, variant: variants('a=http://a:1:6', 'a=http://b:1:5') }),
    /--variant names "a" twice/,
  );
  t.throws(() => experimentSettings({ ...base, compare: true }), /--compare needs --mirror/);
  t.throws(() => experimentSettings({ ...base, primary: undefined }), /--primary is required/);
  const compare = experimentSettings({
    ...base,
    mirror: new URL('http://next:1'),
    compare: true,
    compareIgnore: ['date', 'content-type', '$.at'],
  }).compare;
  t.same(compare?.headers, [], 'an ignored header is not compared even when chosen');
  t.same(compare?.ignorePaths, ['$.at']);
});

t.test(
  '--config-file: the flags’ names or camelCase, variants as strings or mappings; mistakes named',
  async (t) => {
    const file = configFile(`
primary: http://app:8080
variant:
  - beta=http://beta:8080:10
  - { name: gamma, url: "http://gamma:8080", weight: 5 }
sticky: header:X-User
mirror-percent: 50
mirrorTimeout: 2s
compare-ignore: [date, $.timestamp]
`);
    const values = await readConfigFile(file.path);
    t.equal(values.primary?.origin, 'http://app:8080');
    t.same(
      values.variant?.map((v) => [v.name, v.url.origin, v.weight]),
      [
        ['beta', 'http://beta:8080', 10],
        ['gamma', 'http://gamma:8080', 5],
      ],
    );
    t.same(values.sticky, { kind: 'header', name: 'x-user' });
    t.equal(values.mirrorPercent, 50);
    t.equal(values.mirrorTimeout, 2000);
    t.same(values.compareIgnore, ['date', '$.timestamp']);

    file.write('mirror: ""\n');
    t.same(await readConfigFile(file.path), { mirror: undefined }, 'an empty mirror turns it off');
    file.write('');
    t.same(await readConfigFile(file.path), {}, 'an empty file sets nothing');

    const refused: [string, RegExp][] = [
      ['weights: 10\n', /unknown field "weights" \(known: primary, variant, sticky, mirror, /],
      [
        'variant: [beta=http://beta:8080]\n',
        /variant: "beta=http:\/\/beta:8080" is not valid: expected .*weight/,
      ],
      [
        'variant: [{ name: beta }]\n',
        /variant: expected a list of name=URL:weight strings or \{name, url, weight\} mappings/,
      ],
      ['primary: ftp://app:21\n', /primary: "ftp:\/\/app:21" is not valid: .*scheme "ftp" is not http/],
      ['mirror-percent: 150\n', /mirror-percent: "150" is not valid: expected a number from 0 to 100/],
      ['primary: [a, b]\n', /primary: expected a single value/],
      ['primary: http://app:8080\n  bad: indent\n', /not valid YAML/],
      ['- a\n- b\n', /expected a YAML mapping/],
    ];
    for (const [text, message] of refused) {
      file.write(text);
      await t.rejects(
        readConfigFile(file.path),
        { message: new RegExp(`--config-file ${file.path}: ${message.source}`) },
        text,
      );
    }
    writeFileSync(file.path, 'x');
    await t.rejects(readConfigFile(`${file.path}.missing`), /cannot be read \(ENOENT\)/);
  },
);
