/**
 * The FTGO services: each one's folder under examples/ftgo and its port, the original's default. The
 * services, the demo, the bundle and the images read them from here.
 */
export const ftgoPorts = {
  'consumer-service': 8081,
  'order-service': 8082,
  'kitchen-service': 8083,
  'restaurant-service': 8084,
  'accounting-service': 8085,
  'order-history-service': 8086,
  'api-gateway': 8087,
  'delivery-service': 8089,
} as const;

export type FtgoService = keyof typeof ftgoPorts;

export const ftgoServices = Object.keys(ftgoPorts).sort() as FtgoService[];
