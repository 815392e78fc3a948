/**
 * The split as a real process in front of real versions of an app (processes of their own): shares
 * over 10,000 requests, stickiness across requests and across a SIGHUP weight change, the override
 * header, the cookie, a reload under load without a failed request, a bad file refused on SIGHUP, and
 * the answers a client gets when a version is down or slow.
 */

import t from 'tap';
import { freePort } from '../../../test/support/ports.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  type Answer,
  configFile,
  countBy,
  metric,
  runLoad,
  send,
  sendMany,
  startSplit,
  startVersion,
  versionOf,
} from './helpers.js';

const primary = await startVersion(t, 'primary');
const beta = await startVersion(t, 'beta');
const gamma = await startVersion(t, 'gamma');

/** Within four standard deviations of a binomial count. */
function near(t: Tap, count: number, total: number, share: number, what: string): void {
  const sigma = Math.sqrt(total * share * (1 - share));
  t.ok(
    Math.abs(count - total * share) <= 4 * sigma,
    `${what}: ${count} of ${total}, expected ${total * share} ± ${(4 * sigma).toFixed(0)}`,
  );
}
type Tap = { ok(value: boolean, message: string): unknown };

/** The version that answered, checked against the body (the header names the version that answered). */
function answeredBy(answer: Answer): string {
  const name = versionOf(answer);
  if (answer.status !== 200 || JSON.parse(answer.body).name !== name)
    throw new Error(`answer ${answer.status} from ${name}: ${answer.body}`);
  return name;
}

t.test('10,000 requests without stickiness split by the weights', async (t) => {
  const split = await startSplit(t, [
    '--primary',
    primary.url,
    '--variant',
    `beta=${beta.url}:20`,
    '--variant',
    `gamma=${gamma.url}:10`,
  ]);
  const answers = await sendMany(split.url, 10_000);
  const counts = countBy(answers, answeredBy);
  near(t, counts.beta ?? 0, 10_000, 0.2, 'beta at 20%');
  near(t, counts.gamma ?? 0, 10_000, 0.1, 'gamma at 10%');
  near(t, counts.primary ?? 0, 10_000, 0.7, 'the primary gets the rest');
  t.equal(
    await metric(split.adminUrl, 'podkit_traffic_split_requests_total', {
      variant: 'beta',
      status_class: '2xx',
    }),
    counts.beta,
  );
  t.equal(
    await metric(split.adminUrl, 'podkit_traffic_split_variant_weight_percent', { variant: 'primary' }),
    70,
  );
});

t.test(
  'sticky by header: the same user, the same version; a SIGHUP weight change moves only its share',
  async (t) => {
    const file = configFile(
      `primary: ${primary.url}\nvariant: [beta=${beta.url}:10, gamma=${gamma.url}:15]\nsticky: header:X-User\n`,
    );
    const split = await startSplit(t, ['--config-file', file.path]);
    // 10,000 keys are checked without a process (units.test.ts); here a real process and a real reload.
    const users = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const byUser = (answers: Answer[]) => answers.map(answeredBy);
    const round = (count = users.length) =>
      sendMany(split.url, count, (i) => ({ headers: { 'X-User': users[i] as string } }));
    const first = byUser(await round());
    const counts = countBy(first, (v) => v);
    near(t, counts.beta ?? 0, 4000, 0.1, 'beta at 10%');
    near(t, counts.gamma ?? 0, 4000, 0.15, 'gamma at 15%');
    t.same(
      byUser(await round(2000)),
      first.slice(0, 2000),
      'the same 2,000 users again: each on the same version',
    );

    file.write(
      `primary: ${primary.url}\nvariant: [beta=${beta.url}:20, gamma=${gamma.url}:15]\nsticky: header:X-User\n`,
    );
    split.signal('SIGHUP');
    await split.waitForLog('reloaded');
    const after = byUser(await round());
    const moved = countBy(
      first.map((from, i) => [from, after[i]]).filter(([from, to]) => from !== to),
      ([from, to]) => `${from}->${to}`,
    );
    t.same(
      Object.keys(moved),
      ['primary->beta'],
      'beta 10% -> 20%: users moved from the primary to beta, nobody else',
    );
    near(t, moved['primary->beta'] ?? 0, 4000, 0.1, 'and 10% of the users moved');
    t.equal(await metric(split.adminUrl, 'podkit_reloads_total', { result: 'success' }), 1);
  },
);

t.test('the override header sends a request to the version it names, even one at weight 0', async (t) => {
  const split = await startSplit(t, [
    '--primary',
    primary.url,
    '--variant',
    `beta=${beta.url}:100`,
    '--variant',
    `gamma=${gamma.url}:0`,
  ]);
  const to = async (name: string) =>
    answeredBy(await send(`${split.url}/`, { headers: { 'X-Podkit-Variant': name } }));
  t.equal(await to('gamma'), 'gamma', 'a dark variant is reached by name');
  t.equal(await to('primary'), 'primary', 'and so is the primary');
  t.equal(await to('nobody'), 'beta', 'an unknown name is ignored: the weights decide');
  const custom = await startSplit(t, [
    '--primary',
    primary.url,
    '--variant',
    `beta=${beta.url}:0`,
    '--override-header',
    'X-Canary',
    '--variant-header',
    'X-Served-By',
  ]);
  const answer = await send(`${custom.url}/`, { headers: { 'X-Canary': 'beta' } });
  t.equal(JSON.parse(answer.body).name, 'beta', '--override-header names the header');
  t.equal(answer.headers['x-served-by'], 'beta', '--variant-header names the response header');
  t.notOk('x-podkit-variant' in answer.headers);
});

t.test('sticky by cookie: a new user gets the cookie, and keeps the version with it', async (t) => {
  const split = await startSplit(t, [
    '--primary',
    primary.url,
    '--variant',
    `beta=${beta.url}:50`,
    '--sticky',
    'cookie:podkit_variant',
  ]);
  const answers = await sendMany(split.url, 600);
  const cookies = answers.map((a) => String(a.headers['set-cookie']));
  const pattern = /^podkit_variant=(primary|beta)\.[0-9a-f]{16}; Path=\/; HttpOnly; SameSite=Lax$/;
  t.ok(
    cookies.every((cookie) => pattern.test(cookie)),
    `every new user got a cookie, e.g. ${cookies[0]}`,
  );
  t.ok(
    answers.every((a, i) => (cookies[i] as string).startsWith(`podkit_variant=${answeredBy(a)}.`)),
    'naming the version that answered',
  );
  near(t, answers.filter((a) => versionOf(a) === 'beta').length, 600, 0.5, 'beta at 50% of new users');
  const returning = await sendMany(split.url, 600, (i) => ({
    headers: { cookie: `theme=dark; ${(cookies[i] as string).split(';')[0]}` },
  }));
  t.same(returning.map(answeredBy), answers.map(versionOf), 'each user comes back to the same version');
  t.ok(
    returning.every((a) => a.headers['set-cookie'] === undefined),
    'and is not sent the cookie again',
  );
});

t.test(
  'a SIGHUP weight change under load: no failed request; a bad file is refused and the split stays',
  async (t) => {
    const file = configFile(`primary: ${primary.url}\nvariant: [beta=${beta.url}:10]\n`);
    const split = await startSplit(t, ['--config-file', file.path]);
    const load = runLoad(split.url);
    const moreAnswers = async (count: number) => {
      const target = load.answers.length + count;
      await waitFor(() => load.answers.length >= target, { what: `${count} more answers` });
    };
    await moreAnswers(200);
    const reloads = [`beta=${beta.url}:50, gamma=${gamma.url}:20`, `beta=${beta.url}:0`];
    for (const [index, variants] of reloads.entries()) {
      file.write(`primary: ${primary.url}\nvariant: [${variants}]\n`);
      split.signal('SIGHUP');
      await waitFor(() => split.logs.filter((l) => l.msg === 'reloaded').length === index + 1, {
        what: 'reloaded',
      });
      await moreAnswers(200);
    }
    file.write(`primary: ${primary.url}\nvariant: [beta=${beta.url}:80, gamma=${gamma.url}:30]\n`);
    split.signal('SIGHUP');
    const refused = await split.waitForLog('reload refused; the previous state keeps serving');
    t.match(
      String(refused.err),
      /--variant weights add up to 110%: at most 100 \(beta 80 \+ gamma 30\) \(with --config-file /,
    );
    t.equal(refused.code, 'PODKIT_ERR_RELOAD');
    await moreAnswers(200);
    const answers = await load.stop();
    const failed = answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.body}`);
    t.same(failed, [], `0 failed of ${answers.length} requests across three reloads`);
    const counts = countBy(answers, answeredBy);
    t.ok(
      (counts.beta ?? 0) > 0 && (counts.gamma ?? 0) > 0,
      `beta and gamma (added by a reload) answered: ${JSON.stringify(counts)}`,
    );
    t.equal(await metric(split.adminUrl, 'podkit_reloads_total', { result: 'failure' }), 1);
    const now = await sendMany(split.url, 200);
    t.same(
      countBy(now, answeredBy),
      { primary: 200 },
      'the last good file (beta at 0, no gamma) still decides',
    );
  },
);

t.test(
  'a version that is down: 502 JSON at once; one that is slow: 504; the primary down: not ready',
  async (t) => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const split = await startSplit(t, [
      '--primary',
      primary.url,
      '--variant',
      `beta=${down}:0`,
      '--variant',
      `gamma=${gamma.url}:0`,
      '--upstream-timeout',
      '300ms',
    ]);
    const refused = await send(`${split.url}/`, { headers: { 'X-Podkit-Variant': 'beta' } });
    t.equal(refused.status, 502);
    t.equal(JSON.parse(refused.body).code, 'PODKIT_ERR_UPSTREAM');
    t.equal(refused.headers['x-podkit-variant'], 'beta', 'naming the version that failed');
    t.ok(refused.ms < 1000, `at once (${refused.ms.toFixed(0)} ms)`);
    const slow = await send(`${split.url}/slow?ms=3000`, { headers: { 'X-Podkit-Variant': 'gamma' } });
    t.equal(slow.status, 504);
    t.equal(JSON.parse(slow.body).code, 'PODKIT_ERR_UPSTREAM_TIMEOUT');
    t.ok(slow.ms < 2500, `after the 300 ms upstream timeout, not the 3 s answer (${slow.ms.toFixed(0)} ms)`);
    t.equal(
      await metric(split.adminUrl, 'podkit_traffic_split_upstream_errors_total', {
        variant: 'beta',
        reason: 'connect',
      }),
      1,
    );
    t.equal(
      await metric(split.adminUrl, 'podkit_traffic_split_upstream_errors_total', {
        variant: 'gamma',
        reason: 'timeout',
      }),
      1,
    );

    const noPrimary = await startSplit(t, ['--primary', down], { ready: false });
    await waitFor(
      async () => {
        const readyz = await fetch(`${noPrimary.adminUrl}/readyz`);
        const body = (await readyz.json()) as { checks: { primary?: { ok: boolean } } };
        return readyz.status === 503 && body.checks.primary?.ok === false;
      },
      { what: '/readyz 503 naming the primary' },
    );
  },
);

t.test('the upstream gets its own Host by default, the client’s with --preserve-host', async (t) => {
  const own = await startSplit(t, ['--primary', primary.url]);
  const answer = await send(`${own.url}/`, { headers: { host: 'shop.example' } });
  t.equal(JSON.parse(answer.body).host, `127.0.0.1:${primary.port}`);
  const preserved = await startSplit(t, ['--primary', primary.url, '--preserve-host']);
  t.equal(
    JSON.parse((await send(`${preserved.url}/`, { headers: { host: 'shop.example' } })).body).host,
    'shop.example',
  );
});
