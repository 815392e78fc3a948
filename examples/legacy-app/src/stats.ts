/**
 * The app's own statistics, in its own JSON shape (not Prometheus): what the metrics-exporter adapter
 * converts. Nested objects, string values, per-path maps and the array of worker threads are deliberate.
 */

export interface StatsSnapshot {
  app: string;
  version: string;
  status: 'ok' | 'degraded';
  uptime_seconds: number;
  started_at: string;
  requests: {
    total: number;
    errors: number;
    by_status: Record<string, number>;
    by_path: Record<string, number>;
  };
  latency_ms: { avg: number; max: number };
  connections: { open: number; total: number };
  config: { generation: number; reloads: number; failed_reloads: number; last_reload: string | null };
  storage: { kind: string; notes: number; healthy: boolean };
  threads: Array<{ name: string; requests: number }>;
}

export class Stats {
  readonly startedAt = new Date();
  total = 0;
  errors = 0;
  latencySum = 0;
  latencyMax = 0;
  openConnections = 0;
  totalConnections = 0;
  readonly byStatus = new Map<string, number>();
  readonly byPath = new Map<string, number>();
  readonly byThread = new Map<string, number>();

  record(path: string, status: number, ms: number, thread: string): void {
    this.total++;
    if (status >= 500) this.errors++;
    this.latencySum += ms;
    this.latencyMax = Math.max(this.latencyMax, ms);
    const statusKey = String(status);
    this.byStatus.set(statusKey, (this.byStatus.get(statusKey) ?? 0) + 1);
    this.byPath.set(path, (this.byPath.get(path) ?? 0) + 1);
    this.byThread.set(thread, (this.byThread.get(thread) ?? 0) + 1);
  }
}
