/**
 * The experiment page on the admin port: GET /ui (the page), /ui/app.js, uPlot's script and stylesheet
 * (read once from the package, never from a CDN), and /ui/data, the JSON the page polls. All read-only:
 * the page changes nothing; weights change through --config-file and SIGHUP.
 */

import type { Counter } from 'prom-client';
import type { AdminServer } from '../../../lib/admin.js';
import { packageFileOnFirstUse } from '../../../lib/on-first-use.js';
import { formatSticky } from './parse.js';
import type { Split } from './split.js';
import type { StatsRing } from './stats.js';
import { pageHtml, pageScript } from './ui-page.js';

const uplotScript = packageFileOnFirstUse('uplot/dist/uPlot.iife.min.js', import.meta.url);
const uplotStyle = packageFileOnFirstUse('uplot/dist/uPlot.min.css', import.meta.url);

const policy = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export function registerUi(admin: AdminServer, { split, stats }: { split: Split; stats: StatsRing }): void {
  const text = (body: string, contentType: string) => ({ status: 200, body, contentType, headers: policy });
  admin.get('/ui', () => text(pageHtml, 'text/html; charset=utf-8'));
  admin.get('/ui/app.js', () => text(pageScript, 'text/javascript; charset=utf-8'));
  admin.get('/ui/uplot.js', () => text(uplotScript().toString('utf8'), 'text/javascript; charset=utf-8'));
  admin.get('/ui/uplot.css', () => text(uplotStyle().toString('utf8'), 'text/css; charset=utf-8'));
  admin.get('/ui/data', async () => ({ status: 200, body: await uiData(split, stats), headers: policy }));
}

export async function uiData(split: Split, stats: StatsRing) {
  const { settings, mirror } = split.live;
  const { metrics } = split.options;
  const totals = (name: string) => stats.totals(name) ?? { answers: 0, errors: 0 };
  const variantsWeight = settings.variants.reduce((sum, v) => sum + v.weight, 0);
  const versions = [
    { name: 'primary', role: 'primary', url: settings.primary.origin, weight: round(100 - variantsWeight) },
    ...settings.variants.map((v) => ({ name: v.name, role: 'variant', url: v.url.origin, weight: v.weight })),
    ...(settings.mirror
      ? [{ name: 'mirror', role: 'mirror', url: settings.mirror.url.origin, weight: null }]
      : []),
  ].map((version) => ({ ...version, ...totals(version.name) }));
  const byKind = await countsBy(metrics.mismatches, 'kind');
  const board = split.board;
  return {
    now: Date.now(),
    sticky: formatSticky(settings.sticky),
    versions,
    mirror:
      settings.mirror && mirror
        ? {
            url: settings.mirror.url.origin,
            percent: settings.mirror.percent,
            sent: (await metrics.mirrorSent.get()).values[0]?.value ?? 0,
            inflight: mirror.inflight,
            dropped: await countsBy(metrics.mirrorDropped, 'reason'),
            failed: await countsBy(metrics.mirrorFailed, 'reason'),
          }
        : null,
    compare: settings.compare
      ? {
          ...board.totals,
          byKind: { status: byKind.status ?? 0, header: byKind.header ?? 0, body: byKind.body ?? 0 },
          recent: board.recent(),
        }
      : null,
    series: { t: stats.times, byName: stats.series() },
  };
}

async function countsBy(counter: Counter, label: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { labels, value } of (await counter.get()).values) {
    const key = labels[label];
    if (typeof key === 'string') counts[key] = (counts[key] ?? 0) + value;
  }
  return counts;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
