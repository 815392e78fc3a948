/**
 * Shadow traffic with real processes: the mirror gets exact copies; the primary's answers do not wait
 * for a mirror that takes 500 ms, nor fail when it is down; large bodies and overload are counted and
 * memory stays bounded; compare finds a changed field and ignores configured ones; SIGTERM lets
 * requests in flight and their copies finish.
 */

import { readFileSync } from 'node:fs';
import t from 'tap';
import { freePort } from '../../../test/support/ports.js';
import { waitFor } from '../../../test/support/wait.js';
import { metric, send, sendMany, startSplit, startVersion } from './helpers.js';

const primary = await startVersion(t, 'primary', { logRequests: true, fields: { price: 10 } });

t.test('the mirror receives exact copies: method, path and query, headers, body', async (t) => {
  const mirror = await startVersion(t, 'mirror', { logRequests: true });
  const split = await startSplit(t, ['--primary', primary.url, '--mirror', mirror.url]);
  const json = JSON.stringify({ order: 7, items: ['a', 'b'] });
  const sent: { method: string; path: string; headers: Record<string, string>; body?: string | Buffer }[] = [
    {
      method: 'GET',
      path: '/orders?page=2&sort=desc',
      headers: { accept: 'application/json', 'x-trace': 'abc' },
    },
    {
      method: 'POST',
      path: '/orders',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t0k' },
      body: json,
    },
    { method: 'DELETE', path: '/orders/7', headers: {} },
    // A chunked body (no Content-Length): the primary streams it, the mirror gets it whole.
    {
      method: 'PUT',
      path: '/orders/7',
      headers: { 'transfer-encoding': 'chunked' },
      body: Buffer.alloc(200_000, 'z'),
    },
  ];
  for (const request of sent) {
    const answer = await send(`${split.url}${request.path}`, request);
    t.equal(answer.status, 200, `${request.method} ${request.path} answered by the primary`);
  }
  await waitFor(() => mirror.received().length === sent.length, { what: 'the copies at the mirror' });
  const framing = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);
  const headers = (raw: string[]) =>
    raw.flatMap((value, i) =>
      i % 2 === 0 && !framing.has(value.toLowerCase()) ? [[value.toLowerCase(), raw[i + 1]]] : [],
    );
  const atPrimary = primary.received().slice(-sent.length);
  for (const [i, copy] of mirror.received().entries()) {
    const original = atPrimary[i];
    const what = `${sent[i]?.method} ${sent[i]?.path}`;
    t.equal(copy.method, original?.method, `${what}: method`);
    t.equal(copy.url, original?.url, `${what}: path and query`);
    t.same(
      headers(copy.rawHeaders),
      headers(original?.rawHeaders ?? []),
      `${what}: headers (X-Forwarded-* included)`,
    );
    t.ok(copy.body.equals(original?.body ?? Buffer.alloc(0)), `${what}: body, ${copy.body.length} bytes`);
  }
  t.equal(
    mirror.received()[1]?.rawHeaders.includes('Bearer t0k'),
    true,
    'the Authorization header is copied as is',
  );
  t.equal(await metric(split.adminUrl, 'podkit_traffic_split_mirror_sent_total'), sent.length);
});

t.test(
  'the primary does not wait for a mirror that takes 500 ms, nor fail with one that is down',
  async (t) => {
    const slowMirror = await startVersion(t, 'slow-mirror', { delayMs: 500, logRequests: true });
    const split = await startSplit(t, ['--primary', primary.url, '--mirror', slowMirror.url]);
    const answeredCopies = () => slowMirror.process.logs.filter((l) => l.answered !== undefined).length;
    // The first request also loads the pools; then the copies in flight must all be answered.
    await send(`${split.url}/`);
    await waitFor(() => answeredCopies() === 1, { what: 'the first copy answered' });
    const slowest: number[] = [];
    for (let round = 1; round <= 3; round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, () => send(`${split.url}/`)));
      t.same(
        answers.map((a) => a.status),
        new Array(8).fill(200),
        `round ${round}: 8 answers from the primary`,
      );
      t.equal(
        answeredCopies(),
        1 + (round - 1) * 8,
        `round ${round}: all in before the mirror answered any of their copies`,
      );
      slowest.push(Math.max(...answers.map((a) => a.ms)));
      await waitFor(() => answeredCopies() === 1 + round * 8, { what: `round ${round}'s copies answered` });
    }
    t.comment(
      `slowest primary answer per round: ${slowest.map((ms) => ms.toFixed(0)).join(', ')} ms (mirror: 500 ms)`,
    );

    const mirrorPort = await freePort();
    const down = await startSplit(t, [
      '--primary',
      primary.url,
      '--mirror',
      `http://127.0.0.1:${mirrorPort}`,
    ]);
    const withDown = await sendMany(down.url, 40, () => ({}), 4);
    t.same(
      withDown.map((a) => a.status),
      new Array(40).fill(200),
      'all 40 answered by the primary',
    );
    const counted = async () => ({
      refused: await metric(down.adminUrl, 'podkit_traffic_split_mirror_failed_total', { reason: 'connect' }),
      skipped: await metric(down.adminUrl, 'podkit_traffic_split_mirror_dropped_total', {
        reason: 'mirror_down',
      }),
    });
    await waitFor(async () => Object.values(await counted()).reduce((a, b) => a + b) === 40, {
      what: 'every copy refused or skipped',
    });
    const { refused, skipped } = await counted();
    t.ok(
      refused >= 1 && skipped >= 1,
      `a refused mirror is left alone for a while: ${refused} refused, ${skipped} skipped`,
    );

    // Once it listens, copies reach it again (after the backoff, at most 5 s).
    const back = await startVersion(t, 'mirror-back', { port: mirrorPort, logRequests: true });
    await waitFor(
      async () => {
        await send(`${down.url}/again`);
        return back.received().length > 0;
      },
      { timeoutMs: 15_000, what: 'copies at the mirror again' },
    );
  },
);

t.test(
  'bodies over --mirror-max-body and copies over --mirror-max-inflight are dropped and counted',
  async (t) => {
    const mirror = await startVersion(t, 'mirror', { logRequests: true, delayMs: 500 });
    const split = await startSplit(t, [
      '--primary',
      primary.url,
      '--mirror',
      mirror.url,
      '--mirror-max-body',
      '64KiB',
      '--mirror-max-inflight',
      '4',
    ]);
    const large = await sendMany(
      split.url,
      10,
      () => ({ method: 'POST', body: Buffer.alloc(1024 * 1024, 'l') }),
      2,
    );
    t.same(
      large.map((a) => JSON.parse(a.body).bodyBytes),
      new Array(10).fill(1024 * 1024),
      'the primary got every 1 MiB body whole',
    );
    await waitFor(
      async () =>
        (await metric(split.adminUrl, 'podkit_traffic_split_mirror_dropped_total', {
          reason: 'too_large',
        })) === 10,
      {
        what: '10 dropped as too large',
      },
    );
    t.equal(mirror.received().length, 0, 'none reached the mirror');

    // 40 at once against a mirror that holds each copy 500 ms: 4 in flight, the rest dropped.
    const burst = await sendMany(split.url, 40, () => ({}), 40);
    t.ok(
      burst.every((a) => a.status === 200),
      'every request answered',
    );
    await waitFor(async () => (await metric(split.adminUrl, 'podkit_traffic_split_mirror_inflight')) === 0, {
      what: 'copies answered',
    });
    const sentCopies = await metric(split.adminUrl, 'podkit_traffic_split_mirror_sent_total');
    const overload = await metric(split.adminUrl, 'podkit_traffic_split_mirror_dropped_total', {
      reason: 'overload',
    });
    t.equal(
      sentCopies + overload,
      40,
      `each request copied or counted: ${sentCopies} sent, ${overload} dropped`,
    );
    t.ok(sentCopies >= 4 && overload >= 20, 'at most 4 at a time went out');
  },
);

t.test('memory stays bounded: 160 MiB of bodies through a slow mirror', async (t) => {
  const mirror = await startVersion(t, 'mirror', { delayMs: 500 });
  const split = await startSplit(t, [
    '--primary',
    primary.url,
    '--mirror',
    mirror.url,
    '--mirror-max-body',
    '512KiB',
    '--mirror-max-inflight',
    '8',
  ]);
  const rss = () =>
    Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${split.pid}/status`, 'utf8'))?.[1]) / 1024;
  await sendMany(split.url, 20, () => ({ method: 'POST', body: Buffer.alloc(400 * 1024, 'w') }), 8);
  const before = rss();
  // Bodies just under the limit are all copied while copies are in flight; larger ones only streamed.
  const answers = await sendMany(
    split.url,
    320,
    (i) => ({ method: 'POST', body: Buffer.alloc(i % 2 ? 400 * 1024 : 640 * 1024, 'w') }),
    16,
  );
  const after = rss();
  t.ok(answers.every((a) => a.status === 200));
  t.ok(
    after < 200,
    `RSS ${before.toFixed(0)} MB -> ${after.toFixed(0)} MB after 160 MiB of bodies (copies held: at most 8 of 512 KiB)`,
  );
  t.ok(
    (await metric(split.adminUrl, 'podkit_traffic_split_mirror_dropped_total', { reason: 'too_large' })) >=
      160,
  );
});

t.test('compare: a changed field is found, ignored fields and headers are not', async (t) => {
  const changed = await startVersion(t, 'next', { fields: { price: 12 } });
  const same = await startVersion(t, 'next-same', { fields: { price: 10 } });
  const args = (mirror: string) => [
    '--primary',
    primary.url,
    '--mirror',
    mirror,
    '--compare',
    '--compare-ignore',
    '$.timestamp',
    '--compare-ignore',
    '$.name,$.host',
  ];
  const split = await startSplit(t, args(changed.url));
  await sendMany(split.url, 20, (i) => ({ path: `/orders/${i}?token=secret` }), 4);
  await waitFor(
    async () =>
      (await metric(split.adminUrl, 'podkit_traffic_split_compare_results_total', { result: 'mismatch' })) ===
      20,
    {
      what: '20 mismatches',
    },
  );
  t.equal(
    await metric(split.adminUrl, 'podkit_traffic_split_compare_mismatches_total', { kind: 'body' }),
    20,
  );
  t.equal(
    await metric(split.adminUrl, 'podkit_traffic_split_compare_mismatches_total', { kind: 'status' }),
    0,
  );
  const data = (await (await fetch(`${split.adminUrl}/ui/data`)).json()) as {
    compare: { recent: { path: string; body: { path: string; primary: string; mirror: string }[] }[] };
  };
  t.equal(data.compare.recent.length, 20);
  t.same(
    data.compare.recent[0]?.body,
    [{ path: '$.price', kind: 'changed', primary: '10', mirror: '12' }],
    'only $.price differs',
  );
  t.match(data.compare.recent[0]?.path, /^\/orders\/\d+$/, 'the query string is not kept');
  const logged = split.logs.filter((l) => l.msg === 'the mirror answered differently from the primary');
  t.ok(
    logged.length >= 1 && logged.length < 20,
    `a sample is logged (${logged.length} lines for 20 mismatches)`,
  );
  t.notMatch(JSON.stringify(logged), /secret/, 'without the query string');

  const quiet = await startSplit(t, args(same.url));
  await sendMany(quiet.url, 20, () => ({}), 4);
  await waitFor(
    async () =>
      (await metric(quiet.adminUrl, 'podkit_traffic_split_compare_results_total', { result: 'match' })) ===
      20,
    {
      what: '20 matches: timestamp, name and host ignored',
    },
  );
  t.equal(
    await metric(quiet.adminUrl, 'podkit_traffic_split_compare_results_total', { result: 'mismatch' }),
    0,
  );
});

t.test(
  'a body the primary never read (it is down) is not copied, and does not hold up a drain',
  async (t) => {
    const mirror = await startVersion(t, 'mirror', { logRequests: true });
    const split = await startSplit(
      t,
      ['--primary', `http://127.0.0.1:${await freePort()}`, '--mirror', mirror.url],
      {
        ready: false,
      },
    );
    const answer = await send(`${split.url}/orders`, { method: 'POST', body: Buffer.alloc(256 * 1024, 'b') });
    t.equal(answer.status, 502, 'the client gets the 502');
    await waitFor(
      async () =>
        (await metric(split.adminUrl, 'podkit_traffic_split_mirror_dropped_total', { reason: 'aborted' })) ===
        1,
      {
        what: 'the copy dropped as aborted',
      },
    );
    t.equal(mirror.received().length, 0, 'no partial copy reached the mirror');
    const signalledAt = Date.now();
    split.signal('SIGTERM');
    t.equal((await split.exited).code, 0, 'exit 0');
    t.ok(Date.now() - signalledAt < 5000, 'well within the 10 s shutdown timeout');
  },
);

t.test('SIGTERM: requests in flight and their mirror copies finish, then exit 0', async (t) => {
  const mirror = await startVersion(t, 'mirror', { logRequests: true });
  const split = await startSplit(t, [
    '--primary',
    primary.url,
    '--mirror',
    mirror.url,
    '--shutdown-timeout',
    '10s',
  ]);
  const inFlight = [1, 2, 3].map((n) => send(`${split.url}/slow?ms=1500&n=${n}`));
  await waitFor(() => mirror.received().filter((r) => r.url.startsWith('/slow')).length === 3, {
    what: 'the copies at the mirror',
  });
  split.signal('SIGTERM');
  const answers = await Promise.all(inFlight);
  t.same(
    answers.map((a) => a.status),
    [200, 200, 200],
    'the requests in flight were answered',
  );
  t.equal((await split.exited).code, 0, 'exit 0');
  const answered = mirror.process.logs.filter(
    (l) => typeof l.answered === 'string' && l.answered.startsWith('/slow'),
  );
  t.equal(answered.length, 3, 'the mirror answered all three copies before the split went');
  t.notOk(
    mirror.process.logs.some((l) => l.aborted),
    'none was cut short',
  );
});
