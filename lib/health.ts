/**
 * Probe state behind /healthz and /readyz. A component names its conditions (`upstream`, `first-sync`)
 * and flips them as the world changes; the admin server only reads. Readiness is also false before
 * start-up finishes and while draining, which the lifecycle sets, not the component.
 */

export interface Condition {
  ok: boolean;
  /** Why, for humans and for the probe's JSON body: a short reason or structured facts. */
  detail?: unknown;
}

export interface ProbeReport {
  ok: boolean;
  checks: Record<string, Condition>;
}

export class Probe {
  readonly #conditions = new Map<string, Condition>();

  /** Sets one condition; a condition not set yet does not exist (and does not block). */
  set(name: string, ok: boolean, detail?: unknown): void {
    this.#conditions.set(name, detail === undefined ? { ok } : { ok, detail });
  }

  delete(name: string): void {
    this.#conditions.delete(name);
  }

  get ok(): boolean {
    for (const condition of this.#conditions.values()) if (!condition.ok) return false;
    return true;
  }

  report(): ProbeReport {
    return { ok: this.ok, checks: Object.fromEntries(this.#conditions) };
  }
}

export type Phase = 'starting' | 'running' | 'draining';

export class Health {
  readonly liveness = new Probe();
  readonly readiness = new Probe();
  phase: Phase = 'starting';

  get ready(): boolean {
    return this.phase === 'running' && this.readiness.ok;
  }
}
