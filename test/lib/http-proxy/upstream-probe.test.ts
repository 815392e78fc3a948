/**
 * Readiness that follows a real upstream: not ready until it accepts connections, ready once it does,
 * not ready at once when traffic saw it refuse; each upstream under its own condition.
 */

import { createServer } from 'node:net';
import t from 'tap';
import { Health } from '../../../lib/health.js';
import { probeUpstream } from '../../../lib/http-proxy/upstream-probe.js';
import { freePort } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';
import { capturedLog } from './proxy-fixture.js';

t.test('a probe per upstream: ready when it accepts, not ready as soon as it refuses', async (t) => {
  const health = new Health();
  const { log, lines } = capturedLog();
  const port = await freePort();
  const listening = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  t.teardown(() => listening.close());
  const other = (listening.address() as { port: number }).port;

  const primary = probeUpstream({ host: '127.0.0.1', port }, health, log, {
    condition: 'upstream:primary',
    intervalMs: 100,
  });
  const beta = probeUpstream({ host: '127.0.0.1', port: other }, health, log, {
    condition: 'upstream:beta',
    intervalMs: 100,
  });
  t.teardown(() => {
    primary.close();
    beta.close();
  });
  await waitFor(() => health.readiness.report().checks['upstream:beta']?.ok === true, { what: 'beta ready' });
  t.match(health.readiness.report().checks['upstream:primary'], { ok: false }, 'primary is down');
  await waitFor(
    () => /ECONNREFUSED/.test(String(health.readiness.report().checks['upstream:primary']?.detail)),
    {
      what: 'the reason primary is not ready',
    },
  );
  t.equal(health.readiness.ok, false, 'one condition down: not ready');

  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await waitFor(() => health.readiness.ok, { what: 'both ready once primary accepts' });
  t.match(
    lines.find((l) => l.msg === 'upstream accepts connections' && l.upstream === `127.0.0.1:${port}`),
    {
      level: 'info',
    },
  );

  await new Promise<void>((resolve) => server.close(() => resolve()));
  primary.recheck();
  t.match(
    health.readiness.report().checks['upstream:primary'],
    { ok: false, detail: `127.0.0.1:${port}: refused a proxied connection` },
    'a refusal seen by traffic turns it not ready at once',
  );
  await waitFor(
    () => /ECONNREFUSED/.test(String(health.readiness.report().checks['upstream:primary']?.detail)),
    {
      what: 'the check to confirm it',
    },
  );
  t.equal(health.readiness.report().checks['upstream:beta']?.ok, true, 'beta is unaffected');
  t.ok(lines.some((l) => l.msg === 'upstream stopped accepting connections' && l.level === 'warn'));
});
