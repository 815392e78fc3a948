/**
 * The experiment page's HTML and script: a small page with no build step, that polls /ui/data once a
 * second and draws the versions side by side with uPlot (served from the package, next to it). The
 * charts are kept on `window.podkitUi`, so a browser test can read what they show.
 */

export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>traffic-split experiment</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/uplot.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #1d2430; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 20px 0 8px; }
  .muted { color: #667085; } .bad { color: #b42318; font-weight: 600; } .ok { color: #067647; }
  table { border-collapse: collapse; background: #fff; } th, td { border: 1px solid #d0d5dd; padding: 4px 8px; text-align: left; vertical-align: top; }
  th { background: #f2f4f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
  .charts { display: flex; flex-wrap: wrap; gap: 16px; } .chart { background: #fff; border: 1px solid #d0d5dd; padding: 8px; }
  code { font: 12px ui-monospace, monospace; } .diff td { font: 12px ui-monospace, monospace; } .kinds { white-space: nowrap; }
</style>
</head>
<body>
<h1>traffic-split experiment</h1>
<div class="muted" id="summary">loading…</div>
<h2>Versions</h2>
<table id="versions"><thead><tr><th>version</th><th>role</th><th>URL</th><th>weight</th><th>answers</th><th>5xx</th><th>5xx %</th></tr></thead><tbody></tbody></table>
<h2>Last minutes</h2>
<div class="charts">
  <div class="chart" id="chart-rate"></div>
  <div class="chart" id="chart-errors"></div>
  <div class="chart" id="chart-latency"></div>
</div>
<h2>Mirror</h2>
<div id="mirror" class="muted">no mirror</div>
<h2>Latest mismatches</h2>
<div id="compare-summary" class="muted"></div>
<table id="mismatches" class="diff"><thead><tr><th>time</th><th>request</th><th>what differs</th><th>primary</th><th>mirror</th></tr></thead><tbody></tbody></table>
<script src="/ui/uplot.js"></script>
<script src="/ui/app.js"></script>
</body>
</html>
`;

export const pageScript = `'use strict';
(() => {
  const palette = ['#1f6feb', '#d9480f', '#2f9e44', '#9c36b5', '#e8590c', '#0b7285', '#c2255c', '#5c940d'];
  const shownMismatches = 12;
  const state = { charts: {}, names: '', data: undefined, errors: [] };
  window.podkitUi = state;
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  };
  const colour = (data, name) => palette[data.versions.findIndex((v) => v.name === name) % palette.length];
  const width = () => Math.max(320, Math.min(560, (document.body.clientWidth - 110) / 3));

  function makeChart(id, title, unit, series) {
    const target = document.getElementById(id);
    target.replaceChildren();
    return new uPlot({
      title, width: width(), height: 220,
      scales: { x: { time: true } },
      axes: [{}, { label: unit, size: 60 }],
      series: [{}, ...series],
    }, [[]], target);
  }

  function buildCharts(data) {
    const names = data.versions.map((v) => v.name);
    const line = (name, extra) => ({ label: name, stroke: colour(data, name), width: 2, spanGaps: false, ...extra });
    state.charts.rate = makeChart('chart-rate', 'requests per second', 'req/s', names.map((n) => line(n)));
    state.charts.errors = makeChart('chart-errors', '5xx answers (%)', '%', names.map((n) => line(n)));
    state.charts.latency = makeChart('chart-latency', 'latency p50 (dashed) and p99 (ms)', 'ms',
      names.flatMap((n) => [line(n + ' p50', { stroke: colour(data, n), dash: [6, 4], width: 1.5 }), line(n + ' p99', { stroke: colour(data, n) })]));
    state.names = names.join(',');
  }

  function render(data) {
    state.data = data;
    const names = data.versions.map((v) => v.name);
    if (names.join(',') !== state.names) buildCharts(data);
    const t = data.series.t;
    const of = (name, field) => data.series.byName[name]?.[field] ?? t.map(() => null);
    state.charts.rate.setData([t, ...names.map((n) => of(n, 'rps'))]);
    state.charts.errors.setData([t, ...names.map((n) => of(n, 'errorRate'))]);
    state.charts.latency.setData([t, ...names.flatMap((n) => [of(n, 'p50'), of(n, 'p99')])]);

    document.getElementById('summary').textContent =
      'sticky: ' + data.sticky + ' · updated ' + new Date(data.now).toLocaleTimeString();
    const rows = data.versions.map((v) => el('tr', { 'data-version': v.name },
      el('td', {}, el('span', { class: 'swatch', style: 'background:' + colour(data, v.name) }), v.name),
      el('td', {}, v.role), el('td', {}, el('code', {}, v.url)),
      el('td', { class: 'num' }, v.weight === null ? '—' : v.weight + '%'),
      el('td', { class: 'num' }, v.answers), el('td', { class: 'num' }, v.errors),
      el('td', { class: 'num' + (v.errors > 0 ? ' bad' : '') }, v.answers ? (100 * v.errors / v.answers).toFixed(2) : '—')));
    document.querySelector('#versions tbody').replaceChildren(...rows);

    const m = data.mirror;
    document.getElementById('mirror').textContent = m
      ? m.url + ' · ' + m.percent + '% copied · ' + m.sent + ' sent, ' + m.inflight + ' in flight, dropped: ' +
        Object.entries(m.dropped).map(([why, n]) => why + ' ' + n).join(', ') + ' · failed: ' +
        Object.entries(m.failed).map(([why, n]) => why + ' ' + n).join(', ')
      : 'no mirror';

    const c = data.compare;
    document.getElementById('compare-summary').textContent = c
      ? c.matches + ' matched, ' + c.mismatches + ' differed (status ' + c.byKind.status + ', header ' + c.byKind.header + ', body ' + c.byKind.body + ')' +
        (c.recent.length > shownMismatches ? ' · the latest ' + shownMismatches + ' shown' : '')
      : 'compare is off (--compare)';
    const diffRows = (c ? c.recent.slice(0, shownMismatches) : []).map((d) => {
      const lines = [];
      if (d.status) lines.push(['status', String(d.status.primary), String(d.status.mirror)]);
      for (const h of d.headers) lines.push(['header ' + h.name, h.primary ?? '(none)', h.mirror ?? '(none)']);
      for (const b of d.body) lines.push([b.kind + ' ' + b.path, b.primary ?? '(absent)', b.mirror ?? '(absent)']);
      if (d.bodyCount > d.body.length) lines.push(['…', (d.bodyCount - d.body.length) + ' more body differences', '']);
      const cell = (i) => el('td', {}, ...lines.flatMap((l, n) => (n ? [el('br'), l[i]] : [l[i]])));
      return el('tr', { class: 'mismatch' }, el('td', {}, new Date(d.at).toLocaleTimeString()),
        el('td', {}, el('code', {}, d.method + ' ' + d.path)), cell(0), cell(1), cell(2));
    });
    document.querySelector('#mismatches tbody').replaceChildren(...diffRows);
  }

  async function poll() {
    try {
      const answer = await fetch('/ui/data', { cache: 'no-store' });
      if (!answer.ok) throw new Error('/ui/data answered ' + answer.status);
      render(await answer.json());
    } catch (err) {
      state.errors.push(String(err));
      document.getElementById('summary').textContent = 'cannot load /ui/data: ' + err;
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
`;
