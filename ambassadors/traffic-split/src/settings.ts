/**
 * The experiment as one value: from the flags, with --config-file's fields over them, checked as a
 * whole. The same checks run at start (a failure exits 2 before anything listens) and on SIGHUP (a
 * failure refuses the reload and the running split stays).
 */

import type { ComponentOptions } from '../../../lib/component.js';
import { invalid } from '../../../lib/options.js';
import type { trafficSplitOptions } from './options.js';
import type { Sticky, VariantSpec } from './parse.js';

export type TrafficSplitOptions = ComponentOptions<typeof trafficSplitOptions>;

/** The options --config-file may set, and SIGHUP may change. */
export const experimentKeys = [
  'primary',
  'variant',
  'sticky',
  'mirror',
  'mirrorPercent',
  'mirrorMaxBody',
  'mirrorMaxInflight',
  'mirrorTimeout',
  'compare',
  'compareHeader',
  'compareIgnore',
  'compareMaxBody',
] as const satisfies readonly (keyof TrafficSplitOptions)[];

export type ExperimentKey = (typeof experimentKeys)[number];
export type ExperimentValues = Pick<TrafficSplitOptions, ExperimentKey>;

export interface Settings {
  primary: URL;
  variants: VariantSpec[];
  sticky: Sticky;
  mirror:
    | { url: URL; percent: number; maxBodyBytes: number; maxInflight: number; timeoutMs: number }
    | undefined;
  compare:
    | { headers: string[]; ignoreHeaders: Set<string>; ignorePaths: string[]; maxBodyBytes: number }
    | undefined;
}

/** Checks the experiment as a whole; throws a ConfigError naming the option (exit 2, or a refused reload). */
export function experimentSettings(values: ExperimentValues, source = ''): Settings {
  const where = source ? ` (${source})` : '';
  if (values.primary === undefined)
    throw invalid('primary', `is required: the production version's http://host:port${where}`);
  const names = new Set<string>();
  for (const variant of values.variant) {
    if (names.has(variant.name)) throw invalid('variant', `names "${variant.name}" twice${where}`);
    names.add(variant.name);
  }
  // In hundredths of a percent, so 33.33 + 66.67 is exactly 100.
  const total = values.variant.reduce((sum, v) => sum + Math.round(v.weight * 100), 0) / 100;
  if (total > 100)
    throw invalid(
      'variant',
      `weights add up to ${total}%: at most 100 (${values.variant.map((v) => `${v.name} ${v.weight}`).join(' + ')})${where}`,
    );
  if (values.compare && values.mirror === undefined)
    throw invalid('compare', `needs --mirror: it compares the mirror's answers with the primary's${where}`);
  const ignore = values.compareIgnore;
  return {
    primary: values.primary,
    variants: values.variant,
    sticky: values.sticky,
    mirror: values.mirror && {
      url: values.mirror,
      percent: values.mirrorPercent,
      maxBodyBytes: values.mirrorMaxBody,
      maxInflight: values.mirrorMaxInflight,
      timeoutMs: values.mirrorTimeout,
    },
    compare: values.compare
      ? {
          headers: values.compareHeader.filter((name) => !ignore.includes(name)),
          ignoreHeaders: new Set(ignore.filter((entry) => !entry.startsWith('$'))),
          ignorePaths: ignore.filter((entry) => entry.startsWith('$')),
          maxBodyBytes: values.compareMaxBody,
        }
      : undefined,
  };
}

/** The `host:port` a pool connects to and a probe checks. */
export function endpointOf(url: URL): { host: string; port: number; origin: string } {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 80 : Number(url.port);
  return { host, port, origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}
