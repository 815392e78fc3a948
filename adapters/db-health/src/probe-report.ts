/**
 * From check results to probe answers. Each probe lists the checks that gate it, with status,
 * expectation, latency and a short fixed reason. Anyone who reaches the admin port reads these bodies,
 * so what a query returned and what the server said stay in the log ("check failing", and the debug
 * "check ran"). A probe passes when every one of them passes, with two
 * deliberate differences:
 *
 * - before a check has run, readiness and startup fail (nothing is known yet) but liveness passes;
 * - liveness fails only once a check has been failing for the whole liveness grace. Failing liveness
 *   restarts the database container, which turns a slow or briefly unreachable database into a down
 *   one; readiness already takes the pod out of service at the first failure.
 */

import type { Condition, Probe } from '../../../lib/health.js';
import type { Check, ProbeName } from './checks.js';
import type { CheckResult } from './results.js';

export interface ProbeInputs {
  checks: readonly Check[];
  results: ReadonlyMap<string, CheckResult>;
  now: number;
  livenessGraceMs: number;
}

export function probeConditions(probe: ProbeName, inputs: ProbeInputs): Map<string, Condition> {
  const conditions = new Map<string, Condition>();
  for (const check of inputs.checks) {
    if (!check.probes.includes(probe)) continue;
    const result = inputs.results.get(check.name);
    if (!result) continue;
    conditions.set(check.name, condition(probe, check, result, inputs));
  }
  return conditions;
}

function condition(probe: ProbeName, check: Check, result: CheckResult, inputs: ProbeInputs): Condition {
  const detail: Record<string, unknown> = {
    status: result.status,
    reason: result.status === 'ok' ? null : result.status === 'pending' ? 'not run yet' : result.lastReason,
    expected: check.expected,
    latencyMs: result.latencyMs === null ? null : Math.round(result.latencyMs * 100) / 100,
    lastReason: result.lastReason,
    lastErrorAt: iso(result.lastErrorAt),
    checkedAt: iso(result.checkedAt),
  };
  if (result.status === 'ok') return { ok: true, detail };
  if (result.status === 'pending') return { ok: probe === 'liveness', detail };
  detail.failingSince = iso(result.failingSince);
  if (probe !== 'liveness') return { ok: false, detail };
  const graceEnds = (result.failingSince ?? inputs.now) + inputs.livenessGraceMs;
  if (inputs.now < graceEnds) {
    detail.livenessFailsAt = iso(graceEnds);
    return { ok: true, detail };
  }
  return { ok: false, detail };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Replaces a lib Probe's conditions with these, removing checks that no longer gate it. */
export function applyConditions(probe: Probe, conditions: Map<string, Condition>): void {
  for (const name of Object.keys(probe.report().checks)) if (!conditions.has(name)) probe.delete(name);
  for (const [name, { ok, detail }] of conditions) probe.set(name, ok, detail);
}
