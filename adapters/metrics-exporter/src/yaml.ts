/** The YAML parser, loaded on first use: only a pod with a mapping file needs it. */

import type * as Yaml from 'yaml';
import { requireOnFirstUse } from '../../../lib/on-first-use.js';

export const yaml = requireOnFirstUse<typeof Yaml>('yaml', import.meta.url);

/** A parsed mapping file: its value, and the line where a key path starts (for errors users can find). */
export interface YamlWithLines {
  readonly root: unknown;
  lineOf(path: ReadonlyArray<string | number>, fallback?: number): number;
}

/** Parses `text` (duplicate keys refused); a YAML error becomes `toError(line, message)`. */
export function parseYamlWithLines(
  text: string,
  toError: (line: number, message: string) => Error,
): YamlWithLines {
  const lines = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError)
    throw toError(yamlError.linePos?.[0].line ?? 1, `not valid YAML: ${yamlError.message.split('\n')[0]}`);
  return {
    root: doc.toJS(),
    lineOf(path, fallback = 1) {
      const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
      return node?.range ? lines.linePos(node.range[0]).line : fallback;
    },
  };
}
