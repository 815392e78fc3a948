#!/usr/bin/env node
/**
 * API gateway (port 8087): no database, no broker; it is ready when it can serve (its downstreams may
 * come and go, and composed reads degrade without them).
 */

import { createApp } from '../../common/src/app.js';
import { loadConfig } from '../../common/src/config.js';
import { createLogger } from '../../common/src/log.js';
import { loadGatewayConfig } from './downstreams.js';
import { gatewayRoutes } from './gateway.js';

const name = 'api-gateway';
process.title = name;
const config = loadConfig(name, { port: 8087, database: 'none' });
const log = createLogger(name, config.logLevel);
try {
  const gateway = loadGatewayConfig();
  const app = await createApp({
    service: name,
    log,
    ready: async () => true,
    routes: (app) => gatewayRoutes(app, gateway),
  });
  const address = await app.listen({ host: config.host, port: config.port });
  log.info({ address }, 'listening');
  const stop = () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (err) {
  log.fatal({ err }, 'cannot start');
  process.exit(1);
}
