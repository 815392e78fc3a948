/**
 * The experiment page in a real browser (Debian's chromium, headless, driven by playwright-core; no
 * browser is downloaded): it loads with no console error, its charts hold the traffic this test sent
 * (read from the uPlot instances, not just "a canvas exists"), the versions table counts it, and a
 * mismatch found by compare appears in the table as a readable diff. The screenshot it takes is the
 * README's when UPDATE_SCREENSHOT=1.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import t from 'tap';
import { repoRoot } from '../../../test/support/process.js';
import { waitFor } from '../../../test/support/wait.js';
import { countBy, sendMany, startSplit, startVersion, versionOf } from './helpers.js';

const primary = await startVersion(t, 'primary', { fields: { price: 10 } });
const beta = await startVersion(t, 'beta', { fields: { price: 10 } });
const next = await startVersion(t, 'next', { fields: { price: 12 } });

/** What the tests read of the page's globals. */
interface Browser {
  podkitUi?: { data?: unknown };
  document: { querySelectorAll(selector: string): { length: number } };
}

interface ChartView {
  labels: string[];
  /** uPlot's data: the x values (seconds), then one array per series. */
  data: (number | null)[][];
}

t.test('the experiment page shows the traffic sent, per version, and the mismatches', async (t) => {
  const split = await startSplit(t, [
    '--primary',
    primary.url,
    '--variant',
    `beta=${beta.url}:30`,
    '--mirror',
    next.url,
    '--compare',
    '--compare-ignore',
    '$.timestamp,$.name,$.host',
  ]);
  // Five batches, each in a second of its own (the page charts one point a second).
  const answers = [];
  const samples = async () =>
    ((await (await fetch(`${split.adminUrl}/ui/data`)).json()) as { series: { t: number[] } }).series.t.at(
      -1,
    );
  for (let batch = 0; batch < 5; batch++) {
    answers.push(...(await sendMany(split.url, 60, (i) => ({ path: `/orders/${i % 7}` }), 8)));
    const last = await samples();
    await waitFor(async () => (await samples()) !== last, { what: 'the next sample' });
  }
  const sent = countBy(answers, versionOf);
  t.ok((sent.beta ?? 0) > 0 && (sent.primary ?? 0) > 0, `sent ${JSON.stringify(sent)}`);
  // A fresh profile per run; playwright passes it as --user-data-dir.
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'podkit-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 1200 },
  });
  t.teardown(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('requestfailed', (request) => problems.push(`${request.url()}: ${request.failure()?.errorText}`));
  await page.goto(`${split.adminUrl}/ui`);
  // These functions run in the page (the test's TypeScript has no DOM types: the globals are described).
  await page.waitForFunction(() => {
    const page = globalThis as unknown as Browser;
    return (
      page.podkitUi?.data !== undefined &&
      page.document.querySelectorAll('#mismatches tr.mismatch').length > 0
    );
  });

  const charts = await page.evaluate(() => {
    const view = (chart: { series: { label?: string }[]; data: (number | null)[][] }) => ({
      labels: chart.series.slice(1).map((s) => String(s.label)),
      data: chart.data.map((values) => [...values]),
    });
    const { charts } = (globalThis as unknown as { podkitUi: { charts: Record<string, never> } }).podkitUi;
    return { rate: view(charts.rate), errors: view(charts.errors), latency: view(charts.latency) };
  });
  /** Requests a series adds up to: each point is a rate over the second before it. */
  const total = (chart: ChartView, label: string) => {
    const index = chart.labels.indexOf(label) + 1;
    const times = chart.data[0] as number[];
    return (chart.data[index] ?? []).reduce<number>(
      (sum, rate, i) => sum + (rate ?? 0) * (i === 0 ? 1 : (times[i] as number) - (times[i - 1] as number)),
      0,
    );
  };
  t.same(charts.rate.labels, ['primary', 'beta', 'mirror'], 'one line per version, the mirror too');
  for (const [label, count] of [
    ['primary', sent.primary ?? 0],
    ['beta', sent.beta ?? 0],
    ['mirror', 300],
  ] as const) {
    const charted = total(charts.rate, label);
    t.ok(
      Math.abs(charted - count) <= count * 0.1 + 2,
      `the ${label} line adds up to ${charted.toFixed(0)} requests (sent ${count})`,
    );
  }
  const p99 = charts.latency.data[charts.latency.labels.indexOf('primary p99') + 1] ?? [];
  t.ok(
    p99.some((ms) => ms !== null && ms > 0),
    'the primary’s p99 line has points',
  );
  const errorLine = charts.errors.data[charts.errors.labels.indexOf('primary') + 1] ?? [];
  t.ok(
    errorLine.every((percent) => percent === null || percent === 0),
    'no 5xx charted',
  );

  const table = await page.$$eval('#versions tbody tr', (rows) =>
    rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent?.trim())),
  );
  t.same(
    table.map((cells) => [cells[0], cells[3], cells[4]]),
    [
      ['primary', '70%', String(sent.primary)],
      ['beta', '30%', String(sent.beta)],
      ['mirror', '—', '300'],
    ],
    'the versions table: weights and the answers counted',
  );
  const mismatch = await page.$eval('#mismatches tr.mismatch', (row) => row.textContent ?? '');
  t.match(mismatch, /GET \/orders\/\d/, 'the mismatch names the request');
  t.match(mismatch, /changed \$\.price/, 'the path that differs');
  t.match(mismatch, /10.*12/, 'and both values');
  t.match(
    await page.textContent('#compare-summary'),
    /0 matched, 300 differed \(status 0, header 0, body 300\)/,
  );
  const screenshot = process.env.UPDATE_SCREENSHOT
    ? join(repoRoot, 'ambassadors', 'traffic-split', 'ui.png')
    : join(mkdtempSync(join(tmpdir(), 'podkit-ui-')), 'ui.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  t.same(problems, [], 'no console error or warning, no failed request');
});
