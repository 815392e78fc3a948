/**
 * Per request: which version answers. In order: the override header naming a version; else the sticky
 * key's point (assignment.ts); else a random point. With `--sticky cookie:NAME` the cookie carries the
 * user's key and the version it gave (`beta.3f9a0c1d2e4b5a69`); a user without one gets one, and a user
 * whose version changed (a weight change moved them) gets the cookie again with the new name.
 */

import { randomBytes } from 'node:crypto';
import type { Upstream } from '../../../lib/http-proxy/upstreams.js';
import { type Layout, layout, pick, pointOf, type Range } from './assignment.js';
import type { Sticky } from './parse.js';

/** One version requests can go to: the primary or a variant. */
export interface Target {
  readonly name: string;
  readonly upstream: Upstream;
  /** Added to every answer from it: the variant header, when there is one. */
  readonly responseHeaders: readonly string[];
}

export interface Route {
  target: Target;
  responseHeaders: readonly string[];
}

export interface RouterOptions {
  primary: Target;
  variants: readonly { weight: number; target: Target }[];
  sticky: Sticky;
  /** Lower-cased; empty turns overrides off. */
  overrideHeader: string;
}

export class Router {
  readonly layout: Layout<Target>;
  readonly #ranges: Range<Target>[];
  readonly #byName = new Map<string, Target>();
  readonly #primary: Target;
  readonly #sticky: Sticky;
  readonly #override: string;
  /** The header whose value is the sticky key (`cookie` for cookie stickiness), or empty. */
  readonly #keyHeader: string;

  constructor({ primary, variants, sticky, overrideHeader }: RouterOptions) {
    this.layout = layout(variants);
    this.#ranges = this.layout.ranges;
    this.#primary = primary;
    this.#byName.set(primary.name, primary);
    for (const { target } of variants) this.#byName.set(target.name, target);
    this.#sticky = sticky;
    this.#override = overrideHeader;
    this.#keyHeader = sticky.kind === 'cookie' ? 'cookie' : sticky.kind === 'header' ? sticky.name : '';
  }

  route(rawHeaders: readonly string[], clientAddress: string): Route {
    let override: string | undefined;
    let key: string | undefined;
    const overrideName = this.#override;
    const keyHeader = this.#keyHeader;
    if (overrideName !== '' || keyHeader !== '') {
      for (let i = 0; i < rawHeaders.length; i += 2) {
        const name = rawHeaders[i] as string;
        if (name.length === overrideName.length && name.toLowerCase() === overrideName) {
          override = rawHeaders[i + 1];
        } else if (name.length === keyHeader.length && name.toLowerCase() === keyHeader) {
          // Several Cookie fields make one list; of another header, the first value is the key.
          if (key === undefined) key = rawHeaders[i + 1];
          else if (keyHeader === 'cookie') key = `${key}; ${rawHeaders[i + 1]}`;
        }
      }
    }
    if (override !== undefined) {
      const target = this.#byName.get(override.trim());
      if (target !== undefined) return { target, responseHeaders: target.responseHeaders };
    }
    const sticky = this.#sticky;
    switch (sticky.kind) {
      case 'none':
        return this.#answer(this.#at(Math.random()));
      case 'ip':
        return this.#answer(this.#at(pointOf(clientAddress)));
      case 'header':
        return this.#answer(this.#at(key === undefined || key === '' ? Math.random() : pointOf(key)));
      case 'cookie':
        return this.#byCookie(sticky.name, key === undefined ? undefined : cookieValue(key, sticky.name));
    }
  }

  #byCookie(cookie: string, value: string | undefined): Route {
    const dot = value === undefined ? -1 : value.lastIndexOf('.');
    let userKey = value === undefined ? '' : value.slice(dot + 1);
    if (!/^[0-9a-f]{16}$/.test(userKey)) userKey = randomBytes(8).toString('hex');
    const target = this.#at(pointOf(userKey));
    if (value !== undefined && dot > 0 && value.slice(0, dot) === target.name && value.length === dot + 17) {
      return this.#answer(target);
    }
    return {
      target,
      responseHeaders: [
        ...target.responseHeaders,
        'set-cookie',
        `${cookie}=${target.name}.${userKey}; Path=/; HttpOnly; SameSite=Lax`,
      ],
    };
  }

  #at(point: number): Target {
    return pick(this.#ranges, point) ?? this.#primary;
  }

  #answer(target: Target): Route {
    return { target, responseHeaders: target.responseHeaders };
  }
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string, name: string): string | undefined {
  let at = 0;
  while (at < header.length) {
    const end = header.indexOf(';', at);
    const stop = end < 0 ? header.length : end;
    const equals = header.indexOf('=', at);
    if (equals > 0 && equals < stop && header.slice(at, equals).trim() === name) {
      const value = header.slice(equals + 1, stop).trim();
      return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
    }
    at = stop + 1;
  }
  return undefined;
}
