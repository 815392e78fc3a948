/**
 * Per-request routing without a process: the override header, each kind of stickiness, and the cookie
 * a user is given, kept, or given again when a weight change moved them.
 */

import t from 'tap';
import type { Upstream } from '../../../lib/http-proxy/upstreams.js';
import { parseSticky } from '../src/parse.js';
import { Router, type Target } from '../src/router.js';

/** Routing never touches the upstream itself. */
const target = (name: string): Target => ({
  name,
  upstream: {} as Upstream,
  responseHeaders: ['x-podkit-variant', name],
});
const primary = target('primary');
const beta = target('beta');

function router(sticky: string, betaWeight = 50, overrideHeader = 'x-podkit-variant') {
  return new Router({
    primary,
    variants: [{ weight: betaWeight, target: beta }],
    sticky: parseSticky(sticky),
    overrideHeader,
  });
}

const names = (routes: { target: Target }[]) => routes.map((route) => route.target.name);

t.test(
  'the override header names a version; an unknown name, or overrides turned off, leave it to the weights',
  async (t) => {
    const split = router('none', 0);
    t.equal(
      split.route(['X-Podkit-Variant', 'beta'], '10.0.0.1').target,
      beta,
      'a variant at weight 0, by name',
    );
    t.equal(split.route(['x-podkit-variant', ' primary '], '10.0.0.1').target, primary, 'any case, trimmed');
    t.equal(
      split.route(['X-Podkit-Variant', 'gamma'], '10.0.0.1').target,
      primary,
      'an unknown name is ignored',
    );
    t.equal(router('none', 0, '').route(['X-Podkit-Variant', 'beta'], '10.0.0.1').target, primary, 'off');
  },
);

t.test('ip and header stickiness: the same key, the same version, without a cookie', async (t) => {
  const byIp = router('ip');
  const addresses = Array.from({ length: 200 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const first = names(addresses.map((address) => byIp.route([], address)));
  t.same(names(addresses.map((address) => byIp.route([], address))), first, 'each address keeps its version');
  t.ok(first.includes('beta') && first.includes('primary'), 'and both versions get addresses');
  const byHeader = router('header:x-user');
  const users = Array.from({ length: 200 }, (_, i) => ['X-User', `user-${i}`]);
  const once = names(users.map((headers) => byHeader.route(headers, '10.0.0.1')));
  t.same(
    names(users.map((headers) => byHeader.route(headers, '10.0.0.9'))),
    once,
    'by the header, whatever the address',
  );
  t.ok(
    users.every((headers) => byHeader.route(headers, '10.0.0.1').responseHeaders.length === 2),
    'no cookie is set',
  );
  const anonymous = new Set(names(Array.from({ length: 200 }, () => byHeader.route([], '10.0.0.1'))));
  t.same([...anonymous].sort(), ['beta', 'primary'], 'without the header, each request is drawn');
});

t.test('cookie stickiness: given once, kept, and given again after a move', async (t) => {
  const split = router('cookie:podkit_variant');
  const first = split.route(['Cookie', 'theme=dark'], '10.0.0.1');
  const cookie = first.responseHeaders[3] as string;
  t.match(cookie, /^podkit_variant=(primary|beta)\.[0-9a-f]{16}; Path=\/; HttpOnly; SameSite=Lax$/);
  t.ok(cookie.startsWith(`podkit_variant=${first.target.name}.`), 'naming the version it gave');
  const value = cookie.split(';')[0] as string;
  const again = split.route(['Cookie', 'theme=dark', 'Cookie', value], '10.0.0.2');
  t.equal(again.target, first.target, 'the cookie (in a second Cookie field) keeps the user there');
  t.same(again.responseHeaders, first.target.responseHeaders, 'and is not set again');

  // The same key under a name that no longer matches (a weight change moved the user): set again.
  const key = value.split('.')[1] as string;
  const stale = `podkit_variant=${first.target === beta ? 'primary' : 'beta'}.${key}`;
  const moved = split.route(['Cookie', stale], '10.0.0.1');
  t.equal(moved.target, first.target, 'the key decides, not the name');
  t.equal(moved.responseHeaders[3], cookie, 'the cookie is set again with the version that answers');

  const forged = split.route(['Cookie', 'podkit_variant=beta.not-a-key'], '10.0.0.1');
  t.match(
    forged.responseHeaders[3],
    /^podkit_variant=(primary|beta)\.[0-9a-f]{16};/,
    'a malformed value gets a new key',
  );
  const all = router('cookie:podkit_variant', 100);
  t.equal(all.route(['Cookie', stale], '10.0.0.1').target, beta, 'at 100% everyone is on beta');
});
