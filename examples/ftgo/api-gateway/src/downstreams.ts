/**
 * Where the gateway finds each service (`<NAME>_SERVICE_URL`, the original's ports on localhost by
 * default) and how long it waits for one (`DOWNSTREAM_TIMEOUT_MS`).
 */

import { ConfigError, integer } from '../../common/src/config.js';

export const downstreamNames = [
  'consumer',
  'order',
  'kitchen',
  'accounting',
  'orderHistory',
  'delivery',
] as const;
export type Downstream = (typeof downstreamNames)[number];

const defaults: Record<Downstream, { variable: string; port: number }> = {
  consumer: { variable: 'CONSUMER_SERVICE_URL', port: 8081 },
  order: { variable: 'ORDER_SERVICE_URL', port: 8082 },
  kitchen: { variable: 'KITCHEN_SERVICE_URL', port: 8083 },
  accounting: { variable: 'ACCOUNTING_SERVICE_URL', port: 8085 },
  orderHistory: { variable: 'ORDER_HISTORY_SERVICE_URL', port: 8086 },
  delivery: { variable: 'DELIVERY_SERVICE_URL', port: 8089 },
};

export interface GatewayConfig {
  readonly urls: Readonly<Record<Downstream, string>>;
  readonly timeoutMs: number;
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const urls = {} as Record<Downstream, string>;
  for (const name of downstreamNames) {
    const { variable, port } = defaults[name];
    const raw = env[variable] ?? `http://127.0.0.1:${port}`;
    const url = URL.parse(raw);
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
      throw new ConfigError(`${variable} must be an http(s) URL`);
    urls[name] = raw.replace(/\/+$/, '');
  }
  return { urls, timeoutMs: integer(env, 'DOWNSTREAM_TIMEOUT_MS', 5000, 1) };
}
