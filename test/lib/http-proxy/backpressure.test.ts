/**
 * Backpressure through the proxy core, both ways: a reader that stops holds the writer on the far side
 * back instead of the proxy buffering what it cannot pass on, and nothing is lost once it reads again.
 */

import { type IncomingMessage, request } from 'node:http';
import t from 'tap';
import { waitFor } from '../../support/wait.js';
import { openResponse, readAll, startProxy, startUpstream } from './proxy-fixture.js';

const MB = 1024 * 1024;

/** Writes `total` bytes as fast as `write` takes them, counting what it has handed over. */
function pump(write: (chunk: Buffer) => boolean, onDrain: (resume: () => void) => void, total: number) {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const state = { written: 0, done: false };
  const next = () => {
    while (state.written < total) {
      state.written += chunk.length;
      if (!write(chunk)) return onDrain(next);
    }
    state.done = true;
  };
  next();
  return state;
}

/** Resolves once `count()` has stopped moving (past `floor`): the writer is held back, not buffered. */
async function heldAt(count: () => number, floor: number, what: string): Promise<number> {
  let last = -1;
  await waitFor(
    () => {
      const now = count();
      const still = now > floor && now === last;
      last = now;
      return still;
    },
    { intervalMs: 300, timeoutMs: 20_000, what },
  );
  return last;
}

t.test(
  'backpressure: a client that stops reading holds the upstream back, then gets every byte',
  async (t) => {
    const total = 96 * MB;
    let sent: { written: number; done: boolean } | undefined;
    const upstream = await startUpstream(t, (_req, res) => {
      res.writeHead(200, ['content-length', String(total)]);
      sent = pump(
        (chunk) => res.write(chunk),
        (resume) => res.once('drain', resume),
        total,
      );
    });
    const proxy = await startProxy(t, {
      upstreams: [{ name: 'primary', origin: upstream.origin, connections: 1, timeoutMs: 30_000 }],
    });
    const res = await openResponse(`${proxy.url}/big`);
    res.pause();
    const held = await heldAt(() => sent?.written ?? 0, MB, 'the upstream to be held back');
    t.ok(held < total / 2, `the upstream stopped after ${(held / MB).toFixed(1)} MB of ${total / MB}`);
    t.equal(await readAll(res), total, 'every byte arrived once the client read');
  },
);

t.test('backpressure: an upstream that stops reading holds the client’s upload back', async (t) => {
  const total = 96 * MB;
  let received = 0;
  let upstreamRequest: IncomingMessage | undefined;
  const upstream = await startUpstream(t, (req, res) => {
    upstreamRequest = req;
    req.pause();
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    req.on('end', () => res.end(String(received)));
  });
  const proxy = await startProxy(t, {
    upstreams: [{ name: 'primary', origin: upstream.origin, connections: 1, timeoutMs: 30_000 }],
  });
  let answer: Promise<number> | undefined;
  const upload = request(
    `${proxy.url}/upload`,
    { method: 'POST', headers: { 'content-length': String(total) } },
    (res) => {
      answer = new Promise((resolve) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(Number(body)));
      });
    },
  );
  const sent = pump(
    (chunk) => upload.write(chunk),
    (resume) => upload.once('drain', resume),
    total,
  );
  await waitFor(() => upstreamRequest !== undefined, { what: 'the upload to reach the upstream' });
  const held = await heldAt(() => sent.written, MB, 'the client to be held back');
  t.ok(held < total / 2, `the client could send ${(held / MB).toFixed(1)} MB of ${total / MB}`);
  upstreamRequest?.resume();
  await waitFor(() => sent.done, { timeoutMs: 30_000, what: 'the whole upload' });
  upload.end();
  await waitFor(() => answer !== undefined, { timeoutMs: 30_000, what: 'the answer' });
  t.equal(await answer, total, 'the upstream got every byte');
});
