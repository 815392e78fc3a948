/**
 * `podkit db-health --probe readiness|liveness|startup`, for exec probes: asks the adapter already
 * running in the pod (its admin server, on loopback) and exits 0 when the probe passes, 1 otherwise,
 * including when the adapter does not answer. Asking the adapter rather than running the checks again
 * keeps an exec probe as cheap as an HTTP one (no database connection per probe) and makes both kinds
 * of probe give the same answer. One line of output: the kubelet shows it in the probe's event.
 */

import type { OneShotIo } from '../../../lib/component.js';
import { HttpClient, RequestError } from '../../../lib/http-client.js';
import { type HostPort, hostPort } from '../../../lib/option-types.js';
import type { ProbeName } from './checks.js';

const probePaths: Record<ProbeName, string> = {
  liveness: '/healthz',
  readiness: '/readyz',
  startup: '/startupz',
};

/** Waiting longer than this for an in-memory answer means the adapter is wedged. */
const answerTimeoutMs = 5000;
/** A probe answer is a few hundred bytes of JSON. */
const answerBytes = 64 * 1024;

/** The admin address as a client reaches it from inside the pod: wildcard binds mean loopback. */
function localAddress(admin: HostPort): HostPort {
  const host = admin.host === '0.0.0.0' ? '127.0.0.1' : admin.host === '::' ? '::1' : admin.host;
  return hostPort(host, admin.port);
}

export async function execProbe(probe: ProbeName, admin: HostPort, io: OneShotIo): Promise<number> {
  const url = `http://${localAddress(admin)}${probePaths[probe]}`;
  let answer: { status: number; body: unknown };
  // One request and the process exits: no connection to keep.
  const client = new HttpClient({ keepAlive: false });
  try {
    const response = await client.request(new URL(url), {
      timeoutMs: answerTimeoutMs,
      maxBodyBytes: answerBytes,
    });
    answer = { status: response.status, body: parseJson(response.body) };
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    io.stderr.write(`${probe} unknown: the db-health adapter at ${url} did not answer: ${err.detail}\n`);
    return 1;
  }
  io.stdout.write(`${summary(probe, answer.status, answer.body)}\n`);
  return answer.status === 200 ? 0 : 1;
}

/** Not JSON: the status alone decides, and the summary says which status it was. */
function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

interface ProbeBody {
  status?: unknown;
  checks?: Record<string, { ok?: unknown; detail?: { reason?: unknown } }>;
}

/** `readiness ok (database-up, writable)` or `readiness not ready: writable: unexpected result`. */
function summary(probe: ProbeName, status: number, raw: unknown): string {
  const body = (typeof raw === 'object' && raw !== null ? raw : {}) as ProbeBody;
  const checks = Object.entries(body.checks ?? {});
  const state = typeof body.status === 'string' ? body.status : `HTTP ${status}`;
  if (status === 200) return `${probe} ${state} (${checks.map(([name]) => name).join(', ')})`;
  const failing = checks
    .filter(([, check]) => check.ok !== true)
    .map(([name, check]) => `${name}: ${String(check.detail?.reason)}`);
  return `${probe} ${state}${failing.length ? `: ${failing.join('; ')}` : ''}`;
}
