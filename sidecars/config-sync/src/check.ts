/**
 * Cross-option rules, checked before anything starts (exit 2 with one line). Options that belong to
 * another source are refused rather than ignored: `--url` with `--source dir` is nearly always a mistake
 * that would otherwise show up as a config that never changes.
 */

import { resolve } from 'node:path';
import type { ComponentOptions } from '../../../lib/component.js';
import { checkNotifyOptions } from '../../../lib/option-groups/notify.js';
import { invalid } from '../../../lib/options.js';
import type { ConfigSyncSpec } from './options.js';

type Options = ComponentOptions<ConfigSyncSpec>;

const sourceOptions: Record<Options['source'], (keyof Options)[]> = {
  kubernetes: ['namespace', 'configmap', 'selector', 'folderAnnotation', 'includeSecrets', 'kubeconfig'],
  dir: ['sourceDir'],
  http: ['url', 'httpKey', 'token'],
};

function isSet(options: Options, key: keyof Options): boolean {
  const value = options[key];
  if (value === undefined || value === false) return false;
  if (typeof value === 'object' && value !== null && 'isSet' in value) return Boolean(value.isSet);
  return true;
}

export function checkOptions(o: Options, given: ReadonlySet<string>): void {
  for (const [source, keys] of Object.entries(sourceOptions)) {
    if (source === o.source) continue;
    for (const key of keys) {
      if (isSet(o, key))
        throw invalid(key, `is only used with --source ${source} (this is --source ${o.source})`);
    }
  }
  if (o.source === 'kubernetes') {
    if (o.configmap && o.selector)
      throw invalid('configmap', 'and --selector cannot both be set: sync one by name, or many by label');
    if (!o.configmap && !o.selector)
      throw invalid(
        'configmap',
        'or --selector is needed with --source kubernetes (which ConfigMaps to sync)',
      );
  }
  if (o.source === 'dir') {
    if (!o.sourceDir) throw invalid('sourceDir', 'is needed with --source dir');
    if (resolve(o.sourceDir) === resolve(o.targetDir))
      throw invalid('sourceDir', 'must not be --target-dir: config-sync would read what it publishes');
  }
  if (o.source === 'http' && !o.url) throw invalid('url', 'is needed with --source http');
  checkNotifyOptions(o, given);
  if (o.webhookUrl && (o.processName || o.pidFile))
    throw invalid('webhookUrl', 'replaces the signal: do not also set --process-name or --pid-file');
  if (o.healthUrl && o.healthStable >= o.healthTimeout)
    throw invalid(
      'healthStable',
      `(${o.healthStable} ms) must be shorter than --health-timeout (${o.healthTimeout} ms)`,
    );
}
