import { join } from 'node:path';
import t from 'tap';
import { httpRequest } from '../support/http.js';
import { distDir, spawnNode } from '../support/process.js';
import { waitFor } from '../support/wait.js';

t.test('npm run demo: everything comes up, answers, and stops cleanly on Ctrl-C', async (t) => {
  const demo = spawnNode(t, join(distDir, 'scripts', 'demo.js'), ['--random-ports']);
  await waitFor(() => demo.text.includes('demo ready'), {
    timeoutMs: 30_000,
    what: `demo ready\n${demo.transcript()}`,
  });
  const banner = demo.text.join('\n');

  const app = /curl (http:\/\/127\.0\.0\.1:\d+)\/ {2,}the legacy app/.exec(banner)?.[1];
  t.ok(app, 'the banner says where the legacy app is');
  t.equal((await httpRequest(`${app}/`)).body, 'Hello from the legacy app\n');

  demo.signal('SIGINT');
  const exit = await demo.exited;
  t.equal(exit.code, 0, 'every process stopped with exit 0');
  t.match(demo.text.join('\n'), /demo: legacy-app stopped \(exit 0\)/);
  await t.rejects(httpRequest(`${app}/`), /ECONNREFUSED/, 'nothing left listening');
});
