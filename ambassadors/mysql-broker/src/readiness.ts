/**
 * What /readyz says about the backends. The admin port is open to whoever reaches the pod, so it names
 * each backend with a short reason only; what a server answered (its error message, its version) and
 * what the Kubernetes API answered go to the log (backend-pool.ts, provision/provisioner.ts).
 */

import type { BackendState } from './backend-pool.js';

export type BackendReason =
  | 'healthy'
  | 'not checked yet'
  | 'timed out'
  | 'refused by the server'
  | 'not a MySQL server'
  | 'unreachable';

/** The short reason for a backend's state, from the fixed start of the detail backend-check writes. */
export function backendReason(backend: BackendState): BackendReason {
  if (backend.healthy === true) return 'healthy';
  if (backend.healthy === undefined) return 'not checked yet';
  if (backend.detail.startsWith('server refused')) return 'refused by the server';
  if (backend.detail.startsWith('not a MySQL server')) return 'not a MySQL server';
  if (/ within \d+ ms$/.test(backend.detail)) return 'timed out';
  return 'unreachable';
}

/** Why no backend is primary, in the same short words. */
export function poolReason(backends: readonly BackendState[], discovered: boolean): string {
  if (backends.length === 0) return discovered ? 'no backends discovered' : 'discovery pending';
  return `no healthy backend (${backends.map((b) => `${b.key}: ${backendReason(b)}`).join('; ')})`;
}
