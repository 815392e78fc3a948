/**
 * A data-path worker of `--workers N` (see worker-pool.ts): receives accepted client sockets from the
 * primary with the backends to try, and brokers them exactly as a single-process broker does.
 * lib/workers does the rest (hello, signals, drain on the primary's word, metrics, exit with the primary).
 */

import type { Socket } from 'node:net';
import { hostPort } from '../../../lib/option-types.js';
import type { WorkerMessage } from '../../../lib/workers/messages.js';
import { runWorker } from '../../../lib/workers/worker.js';
import type { BackendState } from './backend-pool.js';
import { Broker } from './broker.js';
import { createByteMetrics, createLimitMetrics } from './metrics.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-pool.js';

let broker: Broker | undefined;

const worker = runWorker({
  component: 'mysql-broker',
  start(init: WorkerInit, { log, registry }) {
    const limits = createLimitMetrics(registry);
    const started = new Broker({
      connectTimeoutMs: init.connectTimeoutMs,
      idleTimeoutMs: init.idleTimeoutMs,
      // The primary enforces --max-connections before handing a connection over.
      maxConnections: 0,
      maxHandshakeBytes: init.maxHandshakeBytes,
      healthUser: init.healthUser,
      limitRejected: (limit) => limits.inc({ limit }),
      log,
      events: {
        // Awaited before the client's first backend byte: until the primary knows, it answers for it.
        brokered: (_listener, key, id) =>
          new Promise<void>((resolve) => tell({ type: 'brokered', id, key }, resolve)),
        refused: (reason, id) => tell({ type: 'refused', id, reason }),
        closed: (id) => tell({ type: 'closed', id }),
      },
    });
    createByteMetrics(registry, () => started.bytes());
    broker = started;
  },
  onMessage(received: WorkerMessage, handle: unknown) {
    const message = received as ToWorker;
    switch (message.type) {
      case 'connection':
        if (handle) adopt(message, handle as Socket);
        break;
      case 'closeBackend':
        broker?.closeBackend(message.key);
        break;
    }
  },
  drain: () => broker?.drain() ?? Promise.resolve(),
});

function tell(message: FromWorker, onSent?: () => void): void {
  worker.send(message, onSent);
}

function adopt(message: Extract<ToWorker, { type: 'connection' }>, client: Socket): void {
  if (!broker) {
    // The primary hands work only to serving workers; should one arrive early, the primary answers.
    client.destroy();
    tell({ type: 'closed', id: message.id });
    return;
  }
  client.setNoDelay(true);
  const candidates: BackendState[] = message.candidates.map((c) => ({
    address: hostPort(c.host, c.port),
    key: c.key,
    healthy: true,
    detail: '',
  }));
  void broker.adopt(
    client,
    message.listener,
    {
      candidates: () => candidates,
      markFailed: (key, detail) => tell({ type: 'failed', id: message.id, key, detail }),
      describe: () => 'no candidates',
    },
    message.id,
  );
}
