/** The YAML parser, loaded on first use: only a pod with a mapping file needs it. */

import type * as Yaml from 'yaml';
import { requireOnFirstUse } from '../../../lib/on-first-use.js';

export const yaml = requireOnFirstUse<typeof Yaml>('yaml', import.meta.url);
