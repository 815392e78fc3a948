#!/usr/bin/env node

/**
 * API gateway (port 8087): no database, no broker; it is ready when it can serve (its downstreams may
 * come and go, and composed reads degrade without them).
 */

import { Registry } from 'prom-client';
import { createApp, listenUntilStopped } from '../../common/src/app.js';
import { integer, loadConfig, withConfig } from '../../common/src/config.js';
import { createLogger } from '../../common/src/log.js';
import { ftgoPorts } from '../../common/src/services.js';
import { loadBreakerSettings } from './breakers.js';
import { loadGatewayConfig } from './downstreams.js';
import { gatewayRoutes } from './gateway.js';

const name = 'api-gateway' as const;
process.title = name;
const { config, gateway, breakers, rateLimit } = withConfig(name, () => ({
  config: loadConfig(name, { port: ftgoPorts[name], database: 'none' }),
  gateway: loadGatewayConfig(),
  breakers: loadBreakerSettings(),
  rateLimit: integer(process.env, 'RATE_LIMIT_PER_SECOND', 1000),
}));
const log = createLogger(name, config.logLevel);
try {
  const registry = new Registry();
  const options = {
    config: gateway,
    breakers,
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
  await listenUntilStopped(app, config, log, () => app.close());
} catch (err) {
  log.fatal({ err }, 'cannot start');
  process.exit(1);
}
