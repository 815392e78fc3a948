/**
 * Shared by the metrics-exporter tests: start the exporter from dist/, scrape it with the check every
 * /metrics body must pass (promtool for the text format, the OpenMetrics parser for OpenMetrics), and
 * read a value out of a scrape.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { httpRequest } from '../../../test/support/http.js';
import { openMetricsCheck, promtoolCheck } from '../../../test/support/metrics-check.js';
import { type Started, startComponent, type Teardown } from '../../../test/support/process.js';

export const openMetricsAccept =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

export function startExporter(
  t: Teardown,
  args: readonly string[],
  options: { ready?: boolean } = {},
): Promise<Started> {
  return startComponent(t, 'metrics-exporter', args, options);
}

/** GET /metrics, asserting it is 200 and passes the format's checker; returns the body. */
export async function scrape(
  t: Test,
  adminUrl: string,
  format: 'prometheus' | 'openmetrics' = 'prometheus',
): Promise<string> {
  const response = await httpRequest(
    `${adminUrl}/metrics`,
    format === 'openmetrics' ? { headers: { accept: openMetricsAccept } } : {},
  );
  t.equal(response.status, 200, '/metrics answers 200');
  const verdict =
    format === 'openmetrics' ? await openMetricsCheck(response.body) : await promtoolCheck(response.body);
  t.ok(
    verdict.ok,
    `${format === 'openmetrics' ? 'OpenMetrics parser' : 'promtool check metrics'}: ${verdict.output || 'ok'}`,
  );
  if (format === 'prometheus') t.equal(verdict.output, '', 'promtool has nothing to say');
  return response.body;
}

/**
 * GET /metrics for a poll (waitFor): the body, or undefined when it is not 200 or fails promtool, so a
 * poll never reads an invalid body as an answer.
 */
export async function checkedMetrics(adminUrl: string): Promise<string | undefined> {
  const response = await httpRequest(`${adminUrl}/metrics`);
  if (response.status !== 200) return undefined;
  const verdict = await promtoolCheck(response.body);
  if (!verdict.ok || verdict.output !== '') throw new Error(`promtool check metrics: ${verdict.output}`);
  return response.body;
}

/** The value of the one line `name{labels}` (labels written as in the exposition), or undefined. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1).split(' ')[0]);
  }
  return undefined;
}

export function tempDir(prefix = 'podkit-metrics-exporter-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
