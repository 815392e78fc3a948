/**
 * The level of a file's lines that carry none: `--level-from-file` rules first, then the convention that
 * needs no configuration, a file named after its level (`error.log`, `warn.log`; rotated names such as
 * `error.log.1` or `error.log-20240501` too).
 */

import { basename } from 'node:path';
import { type Level, levelFromName } from './levels.js';
import type { LevelRule } from './option-values.js';

const byName = /^(trace|debug|info|warn|warning|error|fatal|critical)\.log(?:[.-][\w.-]*)?$/i;
const rotationSuffix = /(?:\.\d+(?:\.gz)?|-\d{8,10})$/;

export function levelOfFile(path: string, rules: readonly LevelRule[]): Level | undefined {
  const name = basename(path);
  const unrotated = name.replace(rotationSuffix, '');
  for (const rule of rules) if (rule.matcher.test(name) || rule.matcher.test(unrotated)) return rule.level;
  const match = byName.exec(name);
  return match ? levelFromName(match[1] as string) : undefined;
}
