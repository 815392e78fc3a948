/**
 * cloud-sql-proxy's `POST /quitquitquit`: a Job's last step ends the sidecar so the Job can complete.
 * The admin port listens on every address (the kubelet probes the pod IP), so, as in cloud-sql-proxy,
 * the route is off unless --quitquitquit turns it on; then --admin-token-file can require a bearer token.
 * Off, it answers 404 like any route that does not exist, naming the option that turns it on.
 */

import type { AdminServer } from '../../../lib/admin.js';
import { checkBearer } from '../../../lib/admin-token.js';
import type { Logger } from '../../../lib/log.js';
import type { Secret } from '../../../lib/secret.js';

export interface QuitEndpointOptions {
  enabled: boolean;
  token: Secret;
  log: Logger;
  stop(exitCode: 0, reason: string): void;
}

export function registerQuitEndpoint(admin: AdminServer, options: QuitEndpointOptions): void {
  const route = 'POST /quitquitquit';
  admin.post('/quitquitquit', async (request) => {
    if (!options.enabled) {
      return { status: 404, body: { error: `${route} is off; start the broker with --quitquitquit` } };
    }
    const refused = await checkBearer(request, options.token, {
      route,
      realm: 'mysql-broker',
      log: options.log,
    });
    if (refused) return refused;
    options.stop(0, route);
    return { status: 200, body: { status: 'stopping' } };
  });
}
