import t from 'tap';
import { Probe } from '../../../lib/health.js';
import type { Check, ProbeName } from '../src/checks.js';
import { applyConditions, probeConditions } from '../src/probe-report.js';
import { type CheckResult, nextResult, pendingResult } from '../src/results.js';

const check = (name: string, probes: ProbeName[]): Check => ({
  name,
  probes,
  expected: { min: 1 },
  run: async () => ({ ok: true, observed: 1 }),
});

const checks = [check('database-up', ['liveness', 'readiness', 'startup']), check('lag', ['readiness'])];
const t0 = Date.parse('2026-01-01T00:00:00Z');

function inputs(results: Record<string, CheckResult>, now: number, livenessGraceMs = 30_000) {
  return { checks, results: new Map(Object.entries(results)), now, livenessGraceMs };
}

t.test('results: failingSince spans a run of failures; the last error outlives recovery', async (t) => {
  const first = nextResult(
    pendingResult(),
    { ok: false, observed: null, reason: 'refused', publicReason: 'database unreachable', latencyMs: 1 },
    t0,
  );
  t.same(first, {
    status: 'fail',
    observed: null,
    latencyMs: 1,
    lastError: 'refused',
    lastReason: 'database unreachable',
    lastErrorAt: t0,
    checkedAt: t0,
    failingSince: t0,
  });
  const second = nextResult(
    first,
    {
      ok: false,
      observed: null,
      reason: 'timeout after 1000 ms',
      publicReason: 'timed out',
      latencyMs: 1000,
    },
    t0 + 5000,
  );
  t.equal(second.failingSince, t0, 'still failing since the first failure');
  t.equal(second.lastError, 'timeout after 1000 ms');
  t.equal(second.lastReason, 'timed out');
  const recovered = nextResult(second, { ok: true, observed: 1, latencyMs: 2 }, t0 + 9000);
  t.same(recovered, {
    status: 'ok',
    observed: 1,
    latencyMs: 2,
    lastError: 'timeout after 1000 ms',
    lastReason: 'timed out',
    lastErrorAt: t0 + 5000,
    checkedAt: t0 + 9000,
    failingSince: null,
  });
});

t.test('before the first run: readiness and startup fail, liveness passes', async (t) => {
  const pending = inputs({ 'database-up': pendingResult(), lag: pendingResult() }, t0);
  const liveness = probeConditions('liveness', pending);
  const readiness = probeConditions('readiness', pending);
  t.same([...liveness.keys()], ['database-up'], 'only the checks gating the probe are listed');
  t.same([...readiness.keys()], ['database-up', 'lag']);
  t.equal(liveness.get('database-up')?.ok, true);
  t.equal(readiness.get('database-up')?.ok, false);
  t.equal(probeConditions('startup', pending).get('database-up')?.ok, false);
  t.match(readiness.get('database-up')?.detail, {
    status: 'pending',
    reason: 'not run yet',
    lastReason: null,
  });
});

t.test('a failure without a fixed phrase (an expectation not met) shows "unexpected result"', async (t) => {
  const failed = nextResult(
    pendingResult(),
    { ok: false, observed: 4, reason: 'observed 4', latencyMs: 1 },
    t0,
  );
  t.match(probeConditions('readiness', inputs({ 'database-up': failed }, t0)).get('database-up')?.detail, {
    reason: 'unexpected result',
  });
});

t.test('a failing check fails readiness at once and liveness only after the grace', async (t) => {
  const failing = nextResult(
    pendingResult(),
    {
      ok: false,
      observed: 'secret-ish value',
      reason: 'connection refused',
      publicReason: 'database unreachable',
      latencyMs: 3,
    },
    t0,
  );
  const within = inputs({ 'database-up': failing }, t0 + 29_999);
  t.equal(probeConditions('readiness', within).get('database-up')?.ok, false);
  const live = probeConditions('liveness', within).get('database-up');
  t.equal(live?.ok, true, 'liveness holds during the grace');
  t.match(live?.detail, {
    status: 'fail',
    reason: 'database unreachable',
    livenessFailsAt: '2026-01-01T00:00:30.000Z',
  });
  const after = probeConditions('liveness', inputs({ 'database-up': failing }, t0 + 30_000)).get(
    'database-up',
  );
  t.equal(after?.ok, false, 'liveness fails once the grace is over');
  // Exactly these fields: what the query returned and what the server said stay in the log.
  t.same(after?.detail, {
    status: 'fail',
    reason: 'database unreachable',
    expected: { min: 1 },
    latencyMs: 3,
    lastReason: 'database unreachable',
    lastErrorAt: '2026-01-01T00:00:00.000Z',
    checkedAt: '2026-01-01T00:00:00.000Z',
    failingSince: '2026-01-01T00:00:00.000Z',
  });
  t.equal(
    probeConditions('liveness', inputs({ 'database-up': failing }, t0, 0)).get('database-up')?.ok,
    false,
    'grace 0: at once',
  );
});

t.test('applyConditions replaces the probe conditions, dropping checks that left', async (t) => {
  const probe = new Probe();
  probe.set('removed-by-reload', false);
  const ok = nextResult(pendingResult(), { ok: true, observed: 1, latencyMs: 1.234 }, t0);
  applyConditions(probe, probeConditions('readiness', inputs({ 'database-up': ok, lag: ok }, t0)));
  t.same(Object.keys(probe.report().checks), ['database-up', 'lag']);
  t.equal(probe.ok, true);
  t.match(probe.report().checks.lag, { ok: true, detail: { latencyMs: 1.23 } }, 'latency rounded to 0.01 ms');
});
