/**
 * The upstream pool created with the first request: requests that arrive while it loads are sent once it
 * has, a load that fails is reported and retried by the next request, and close() during the load still
 * closes what was loaded. A real undici Pool against a real HTTP server.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { type Dispatcher, Pool } from 'undici';
import { UpstreamPool } from '../../../lib/http-proxy/upstream-pool.js';
import type { Teardown } from '../../support/process.js';

async function upstream(t: Teardown) {
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    response.end(`you asked for ${request.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

/** A GET through `pool.dispatch` with a dispatch handler, as the exchanges use it. */
function get(pool: UpstreamPool, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let body = '';
    // onRequestStart is what marks a handler as one of the current API to undici.
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_controller, statusCode) {
        status = statusCode;
      },
      onResponseData(_controller, chunk) {
        body += chunk;
      },
      onResponseEnd() {
        resolve({ status, body });
      },
      onResponseError(_controller, err) {
        reject(err);
      },
    };
    pool.dispatch({ origin: pool.origin, path, method: 'GET', headers: {} }, handler);
  });
}

/** A loader held until `open()`, counting its calls. */
function gatedLoader() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const loader = {
    calls: 0,
    open,
    load: async () => {
      loader.calls++;
      await gate;
      return { Pool };
    },
  };
  return loader;
}

const poolOptions = { connections: 1, pipelining: 1 };
const unexpected = (err: Error) => {
  throw err;
};

t.test('requests that arrive while the pool loads are sent, in order, once it has', async (t) => {
  const { origin, paths } = await upstream(t);
  const loader = gatedLoader();
  const pool = new UpstreamPool(origin, poolOptions, { onLoadFailed: unexpected, load: loader.load });
  t.teardown(() => pool.close());

  const answers = Promise.all(['/one', '/two', '/three'].map((path) => get(pool, path)));
  t.same(paths, [], 'nothing is sent before the pool exists');
  loader.open();
  t.same(await answers, [
    { status: 200, body: 'you asked for /one' },
    { status: 200, body: 'you asked for /two' },
    { status: 200, body: 'you asked for /three' },
  ]);
  t.same(paths, ['/one', '/two', '/three']);
  t.same(await get(pool, '/four'), { status: 200, body: 'you asked for /four' });
  t.equal(loader.calls, 1, 'loaded once');
});

t.test(
  'a pool that cannot load fails the waiting requests, is reported, and loads on the next',
  async (t) => {
    const { origin } = await upstream(t);
    const failures: Error[] = [];
    let calls = 0;
    const pool = new UpstreamPool(origin, poolOptions, {
      onLoadFailed: (err) => failures.push(err),
      load: async () => {
        calls++;
        if (calls === 1) throw new Error('cannot find module undici');
        return { Pool };
      },
    });
    t.teardown(() => pool.close());

    const first = await Promise.allSettled([get(pool, '/a'), get(pool, '/b')]);
    t.match(first, [
      { status: 'rejected', reason: { message: 'cannot find module undici' } },
      { status: 'rejected', reason: { message: 'cannot find module undici' } },
    ]);
    t.equal(failures.length, 1, 'reported once');
    t.same(await get(pool, '/c'), { status: 200, body: 'you asked for /c' });
    t.equal(calls, 2);
  },
);

t.test('close() while the pool loads lets the waiting request finish, then closes the pool', async (t) => {
  const { origin } = await upstream(t);
  const loader = gatedLoader();
  const pool = new UpstreamPool(origin, poolOptions, { onLoadFailed: unexpected, load: loader.load });

  const answer = get(pool, '/last');
  let closed = false;
  const closing = pool.close().then(() => {
    closed = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(closed, 'close() waits for the load');
  loader.open();
  t.same(await answer, { status: 200, body: 'you asked for /last' });
  await closing;
  await t.rejects(
    get(pool, '/after'),
    { code: /^UND_ERR_(CLOSED|DESTROYED)$/ },
    'the pool is closed afterwards',
  );
  await t.resolves(pool.close(), 'closing it again is harmless');
});

t.test('close() when no request ever came loads nothing', async (t) => {
  const loader = gatedLoader();
  const pool = new UpstreamPool('http://127.0.0.1:9', poolOptions, {
    onLoadFailed: unexpected,
    load: loader.load,
  });
  await pool.close();
  t.equal(loader.calls, 0);
});
