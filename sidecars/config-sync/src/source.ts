/**
 * What every configuration source provides: whole snapshots (key -> bytes), never deltas, so a publish is
 * always one consistent version. A source keeps trying on its own after errors; it only reports them.
 */

import type { Snapshot } from './snapshot.js';

export interface SourceEvents {
  /** The complete configuration as the source has it now. */
  snapshot(snapshot: Snapshot): void;
  /** The source confirmed nothing changed since the last snapshot (an HTTP 304). */
  unchanged(): void;
  /** The source answered with something that cannot be configuration (a malformed payload). */
  invalid(reason: string): void;
  /** The source could not be read; the last good configuration stays and the source retries. */
  error(err: Error): void;
}

export interface Source {
  /** Reads the whole configuration once; rejects, with the reason, when the source cannot be read. */
  read(): Promise<Snapshot>;
  /** Starts following the source; events arrive until close(). */
  start(events: SourceEvents): Promise<void>;
  /** Reads again now, unconditionally (SIGHUP). */
  refresh(): void;
  close(): Promise<void>;
}
