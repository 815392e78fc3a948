import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { createAdminServer } from '../../lib/admin.js';
import { Health } from '../../lib/health.js';
import { createLogger } from '../../lib/log.js';
import { createRegistry } from '../../lib/metrics.js';
import { distDir } from '../support/process.js';

const admin = () =>
  createAdminServer({
    log: createLogger('test', 'silent'),
    registry: createRegistry(),
    health: new Health(),
  });

t.test('the admin server starts and answers without loading a JSON-schema compiler', async (t) => {
  // A fresh process: in this one, other tests may have loaded ajv already. (fastify's error serializer
  // loads a small part of fast-json-stringify; its schema compiler is what must wait.)
  const script = `
    const { createAdminServer } = await import(${JSON.stringify(join(distDir, 'lib', 'admin.js'))});
    const { Health } = await import(${JSON.stringify(join(distDir, 'lib', 'health.js'))});
    const { createLogger } = await import(${JSON.stringify(join(distDir, 'lib', 'log.js'))});
    const { createRegistry } = await import(${JSON.stringify(join(distDir, 'lib', 'metrics.js'))});
    const { createRequire } = await import('node:module');
    const app = createAdminServer({ log: createLogger('t', 'silent'), registry: createRegistry(), health: new Health() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const probe = await fetch('http://127.0.0.1:' + app.server.address().port + '/healthz');
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify({ status: probe.status, loaded: Object.keys(cache).filter((f) => /[/]node_modules[/](ajv|@fastify[/]ajv-compiler|@fastify[/]fast-json-stringify-compiler)[/]/.test(f)).length }));
    await app.close();
  `;
  const out = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
  );
  t.same(out, { status: 200, loaded: 0 });
});

t.test('a route with a schema is refused at start with the reason, not served unvalidated', async (t) => {
  const app = admin();
  t.teardown(() => app.close());
  app.post(
    '/things',
    { schema: { body: { type: 'object', required: ['name'] } } },
    async (request) => request.body,
  );
  await t.rejects(async () => app.ready(), /compiles no JSON schemas \(ajv is not loaded/);
});

t.test('a route with only a response schema is refused too', async (t) => {
  const app = admin();
  t.teardown(() => app.close());
  app.get('/things', { schema: { response: { 200: { type: 'object' } } } }, async () => ({}));
  await t.rejects(async () => app.ready(), /compiles no JSON schemas/);
});
