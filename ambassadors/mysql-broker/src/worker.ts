/**
 * A data-path worker of `--workers N` (see worker-pool.ts): receives accepted client sockets from the
 * primary with the backends to try, and brokers them exactly as a single-process broker does. It takes
 * no signals of its own -- the primary decides when to drain -- and ends when the primary goes away.
 */

import type { Socket } from 'node:net';
import { createLogger, type LogLevel } from '../../../lib/log.js';
import { hostPort } from '../../../lib/option-types.js';
import type { BackendState } from './backend-pool.js';
import { Broker } from './broker.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-pool.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as WorkerSettings;
const log = createLogger('mysql-broker', settings.logLevel as LogLevel).child({ worker: settings.index });
const send = (message: FromWorker) => {
  if (process.connected) process.send?.(message);
};

// Ctrl-C reaches the whole process group: the primary drains the workers in order, they do not just die.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

const broker = new Broker({
  connectTimeoutMs: settings.connectTimeoutMs,
  idleTimeoutMs: settings.idleTimeoutMs,
  // The primary enforces --max-connections before handing a connection over.
  maxConnections: 0,
  log,
  events: {
    brokered: (_listener, key, id) => send({ type: 'brokered', id, key }),
    refused: (reason, id) => send({ type: 'refused', id, reason }),
    closed: (id) => send({ type: 'closed', id }),
  },
});

const reportBytes = () => send({ type: 'bytes', ...broker.bytes() });
setInterval(reportBytes, 1000).unref();

process.on('message', (message: ToWorker, handle?: Socket) => {
  switch (message.type) {
    case 'connection': {
      if (!handle) return;
      handle.setNoDelay(true);
      const candidates: BackendState[] = message.candidates.map((c) => ({
        address: hostPort(c.host, c.port),
        key: c.key,
        healthy: true,
        detail: '',
      }));
      void broker.adopt(
        handle,
        message.listener,
        {
          candidates: () => candidates,
          markFailed: (key, detail) => send({ type: 'failed', id: message.id, key, detail }),
          describe: () => 'no candidates',
        },
        message.id,
      );
      break;
    }
    case 'closeBackend':
      broker.closeBackend(message.key);
      break;
    case 'drain':
      void broker.drain().then(() => {
        reportBytes();
        process.disconnect();
      });
      break;
  }
});

// The primary is gone (crashed, or killed at its deadline): nothing will hand us work or drain us.
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 100).unref();
});

send({ type: 'ready' });
