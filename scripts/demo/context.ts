/**
 * What the demo's pods are made of: containers (local processes) and the context they are built in
 * (a scratch directory, ports, a database standing in for the one outside the pod).
 */

import type { MariaDb } from '../../test/support/mariadb.js';

export interface DemoContainer {
  name: string;
  /** Script under dist/ and its arguments. */
  script: string;
  args: string[];
  /** Set in its environment besides the demo's own. */
  env?: Record<string, string>;
  /** URL that answers 2xx once the container is up. */
  readyUrl: string;
  /** Lines for the banner: what to open, what to try. */
  tryLines: string[];
}

export interface DemoContext {
  dir: string;
  /** The preferred port when free (so the banner shows familiar numbers), else any free port. */
  port(preferred: number): Promise<number>;
  /** Run when the demo stops, after every container (e.g. the database the demo started). */
  teardown(fn: () => unknown): void;
  /**
   * One private MariaDB for the whole demo (the database outside the pod), started on first use; undefined
   * when this machine has no mariadbd, in which case the demo says so and leaves the parts that need it out.
   */
  database(): Promise<MariaDb | undefined>;
}
