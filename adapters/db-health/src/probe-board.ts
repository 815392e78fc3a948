/**
 * The three probes the kubelet reads: liveness and readiness are the lifecycle's own (/healthz,
 * /readyz), startup gets its /startupz route here with the same body shape. The board refreshes them
 * from the latest check results and logs when a probe starts or stops passing.
 */

import type { AdminServer } from '../../../lib/admin.js';
import { type Health, Probe } from '../../../lib/health.js';
import type { Logger } from '../../../lib/log.js';
import type { ProbeName } from './checks.js';
import { applyConditions, type ProbeInputs, probeConditions } from './probe-report.js';

export class ProbeBoard {
  readonly #probes: Record<ProbeName, Probe>;
  readonly #passing = new Map<ProbeName, boolean>();

  constructor(
    health: Health,
    private readonly log: Logger,
  ) {
    this.#probes = { liveness: health.liveness, readiness: health.readiness, startup: new Probe() };
  }

  ok(probe: ProbeName): boolean {
    return this.#probes[probe].ok;
  }

  /** Refreshes every probe; the first call sets the baseline, later changes are logged. */
  update(inputs: ProbeInputs): void {
    for (const [name, probe] of Object.entries(this.#probes) as [ProbeName, Probe][]) {
      applyConditions(probe, probeConditions(name, inputs));
      const { ok, checks } = probe.report();
      const before = this.#passing.get(name);
      this.#passing.set(name, ok);
      if (before === undefined || before === ok) continue;
      if (ok) this.log.info({ probe: name }, `${name} passing`);
      else {
        const failing = Object.keys(checks).filter((check) => !checks[check]?.ok);
        this.log.warn({ probe: name, failing }, `${name} failing`);
      }
    }
  }

  /** GET /startupz on the admin server: 200 once every startup-gated check passes, else 503. */
  addStartupRoute(admin: AdminServer): void {
    admin.get('/startupz', () => {
      const report = this.#probes.startup.report();
      return {
        status: report.ok ? 200 : 503,
        body: { status: report.ok ? 'started' : 'not started', checks: report.checks },
      };
    });
  }
}
