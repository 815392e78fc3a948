/**
 * Where the gateway finds each service (`<NAME>_SERVICE_URL`, the original's ports on localhost by
 * default) and how long it waits for one (`DOWNSTREAM_TIMEOUT_MS`).
 */

import { ConfigError, integer } from '../../common/src/config.js';
import { type FtgoService, ftgoPorts, gatewayVariable } from '../../common/src/services.js';

export const downstreamNames = [
  'consumer',
  'order',
  'kitchen',
  'accounting',
  'orderHistory',
  'delivery',
] as const;
export type Downstream = (typeof downstreamNames)[number];

/** The service behind each downstream: its variable and default port come from common/src/services.ts. */
const services: Record<Downstream, Exclude<FtgoService, 'api-gateway'>> = {
  consumer: 'consumer-service',
  order: 'order-service',
  kitchen: 'kitchen-service',
  accounting: 'accounting-service',
  orderHistory: 'order-history-service',
  delivery: 'delivery-service',
};

export interface GatewayConfig {
  readonly urls: Readonly<Record<Downstream, string>>;
  readonly timeoutMs: number;
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const urls = {} as Record<Downstream, string>;
  for (const name of downstreamNames) {
    const variable = gatewayVariable(services[name]);
    const raw = env[variable] ?? `http://127.0.0.1:${ftgoPorts[services[name]]}`;
    const url = URL.parse(raw);
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
      throw new ConfigError(`${variable} must be an http(s) URL`);
    urls[name] = raw.replace(/\/+$/, '');
  }
  return { urls, timeoutMs: integer(env, 'DOWNSTREAM_TIMEOUT_MS', 5000, 1) };
}
