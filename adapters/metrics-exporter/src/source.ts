/**
 * A source of translated metrics: the app's JSON stats, StatsD, Redis, MySQL. At each scrape the
 * collector asks every source at once, each within --scrape-timeout; a source that fails or is too
 * slow is reported as down (podkit_metrics_exporter_up 0) and writes nothing, and the scrape goes on.
 */

import type { FamilyBuilder } from './families.js';

export const sourceNames = ['json', 'statsd', 'redis', 'mysql'] as const;
export type SourceName = (typeof sourceNames)[number];

export interface Source {
  readonly name: SourceName;
  /** Writes this scrape's series; throws (or rejects) when the source cannot be read. */
  collect(out: FamilyBuilder, signal: AbortSignal, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The source answered, but not with something usable (an HTTP error, malformed JSON). */
export class SourceDown extends Error {}
