/**
 * What was skipped instead of written, by source and reason: counted in
 * podkit_metrics_exporter_skipped_total, and logged once per source and reason (with the first
 * example), since a bad value in a stats document is usually there at every scrape.
 */

import type { Counter } from 'prom-client';
import { ErrorCode } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';

export const skipReasons = [
  /** The source's answer is not JSON, or a StatsD line cannot be read. */
  'malformed',
  /** A value that is not a number, a boolean, or a string its value map knows. */
  'non_numeric',
  /** A path that found nothing, without allow_missing_key. */
  'missing',
  /** A name promtool would flag, even after sanitising. */
  'name',
  /** A label value that is not well-formed text or is too long. */
  'label_value',
  /** A series written twice in one scrape. */
  'duplicate',
  /** A family name another family (of this source, another source, or the process) already has. */
  'conflict',
] as const;
export type SkipReason = (typeof skipReasons)[number];

export class Skips {
  readonly #logged = new Set<string>();

  constructor(
    private readonly counter: Counter<'source' | 'reason'>,
    private readonly log: Logger,
  ) {}

  skip(source: string, reason: SkipReason, detail: string): void {
    this.counter.inc({ source, reason });
    const kind = `${source}/${reason}`;
    if (this.#logged.has(kind)) return;
    this.#logged.add(kind);
    this.log.warn(
      { code: ErrorCode.METRIC_SKIPPED, source, reason, example: detail },
      'skipped what cannot be written as a valid metric; counted in podkit_metrics_exporter_skipped_total, logged once per source and reason',
    );
  }
}
