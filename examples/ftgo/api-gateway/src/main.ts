#!/usr/bin/env node

/**
 * API gateway (port 8087): no database, no broker; it is ready when it can serve (its downstreams may
 * come and go, and composed reads degrade without them).
 */

import { Registry } from 'prom-client';
import { createApp } from '../../common/src/app.js';
import { loadConfig } from '../../common/src/config.js';
import { createLogger } from '../../common/src/log.js';
import { ftgoPorts } from '../../common/src/services.js';
import { loadBreakerSettings } from './breakers.js';
import { loadGatewayConfig } from './downstreams.js';
import { gatewayRoutes } from './gateway.js';

const name = 'api-gateway' as const;
process.title = name;
const config = loadConfig(name, { port: ftgoPorts[name], database: 'none' });
const log = createLogger(name, config.logLevel);
try {
  const registry = new Registry();
  const rateLimit = Number(process.env.RATE_LIMIT_PER_SECOND ?? 1000);
  if (!Number.isInteger(rateLimit) || rateLimit < 0)
    throw new Error('RATE_LIMIT_PER_SECOND must be a non-negative integer');
  const options = {
    config: loadGatewayConfig(),
    breakers: loadBreakerSettings(),
    registry,
    rateLimit,
    jwtSecret: process.env.JWT_SECRET || undefined,
  };
  const app = await createApp({
    service: name,
    log,
    registry,
    ready: async () => true,
    routes: (app) => gatewayRoutes(app, options),
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
