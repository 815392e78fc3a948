/**
 * A worker process (--workers > 1, see workers.ts): serves the shared listener with the same data plane
 * as a single process. lib/workers does the rest (hello, signals, drain on the primary's word, metrics).
 */

import { runWorker } from '../../../lib/workers/worker.js';
import { createDataPlane, type DataPlane } from './data-plane.js';
import { createDataPlaneMetrics } from './metrics.js';
import type { TlsUpdate, UpstreamRefused, WorkerDrain, WorkerInit, WorkerRequests } from './workers.js';

let plane: DataPlane | undefined;
let lastRefusalReport = 0;

runWorker({
  component: 'tls-proxy',
  async start(init: WorkerInit, { log, registry, send }) {
    plane = createDataPlane({
      config: init.config,
      material: init.material,
      ticketKeys: Buffer.from(init.ticketKeys, 'hex'),
      metrics: createDataPlaneMetrics(registry),
      log,
      onUpstreamRefused: () => {
        // During an outage every request is refused: one message a second is all readiness needs.
        const now = Date.now();
        if (now - lastRefusalReport < 1000) return;
        lastRefusalReport = now;
        void send({ type: 'upstream-refused' } satisfies UpstreamRefused);
      },
    });
    return plane.listen();
  },
  requests: {
    tls: (update: TlsUpdate) =>
      plane?.setTls({ material: update.material, ticketKeys: Buffer.from(update.ticketKeys, 'hex') }),
  } satisfies WorkerRequests,
  drain: ({ tunnelGraceMs }: WorkerDrain) => plane?.close(tunnelGraceMs) ?? Promise.resolve(),
});
