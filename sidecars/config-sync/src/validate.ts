/**
 * Validation before publishing: a syntax check of the files in memory (cheap, so it runs first), then
 * the user's command against the candidate directory exactly as it would be published. Whatever fails
 * here is never seen by the app.
 */

import { extname } from 'node:path';
import type * as Yaml from 'yaml';
import { runCommand } from '../../../lib/command.js';
import { ErrorCode, PodkitError } from '../../../lib/errors.js';
import { requireOnFirstUse } from '../../../lib/on-first-use.js';
import type { Files } from './snapshot.js';

/** Most configurations have no YAML file: the parser is loaded by the first one. */
const yaml = requireOnFirstUse<typeof Yaml>('yaml', import.meta.url);

export type ValidateMode = 'auto' | 'json' | 'yaml' | 'none';

export class ValidationError extends PodkitError {
  constructor(
    readonly key: string | undefined,
    message: string,
  ) {
    super(ErrorCode.VALIDATION, message);
    this.name = 'ValidationError';
  }
}

type Syntax = 'json' | 'yaml';

function syntaxFor(key: string, mode: ValidateMode): Syntax | undefined {
  if (mode === 'none') return undefined;
  if (mode !== 'auto') return mode;
  const ext = extname(key).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Why `data` is not valid `syntax`, or undefined when it is. */
export function syntaxProblem(data: Buffer, syntax: Syntax): string | undefined {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return 'not valid UTF-8';
  }
  if (syntax === 'json') {
    try {
      JSON.parse(text);
      return undefined;
    } catch (err) {
      return `invalid JSON: ${withoutContent((err as Error).message)}`;
    }
  }
  for (const document of yaml().parseAllDocuments(text)) {
    const [first] = document.errors;
    if (first) return `invalid YAML: ${first.message.split('\n')[0]}`;
  }
  return undefined;
}

/**
 * V8 quotes the text around some JSON errors (`Unexpected token 'h', "{"pw": hunter2}" is not valid
 * JSON`). The file may come from a Secret, and reasons are logged: keep the kind of error, drop the text.
 */
export function withoutContent(message: string): string {
  return message.replace(/^Unexpected token .*is not valid JSON$/s, 'unexpected token');
}

/** Throws ValidationError naming the first file (in name order) that fails its syntax check. */
export function checkSyntax(files: Files, mode: ValidateMode): void {
  for (const key of [...files.keys()].sort()) {
    const syntax = syntaxFor(key, mode);
    if (!syntax) continue;
    const problem = syntaxProblem(files.get(key) as Buffer, syntax);
    if (problem) throw new ValidationError(key, `${key}: ${problem}`);
  }
}

/**
 * Runs the user's command with the candidate directory as $1 and $PODKIT_CONFIG_DIR. Our own PODKIT_*
 * variables are not passed on: one of them may hold the source's token.
 */
export async function runValidateCommand(command: string, dir: string, timeoutMs: number): Promise<void> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PODKIT_')));
  try {
    await runCommand({
      command: ['sh', '-c', command, 'validate-command', dir],
      env: { ...env, PODKIT_CONFIG_DIR: dir },
      cwd: dir,
      timeoutMs,
    });
  } catch (err) {
    throw new ValidationError(undefined, `--validate-command refused the version: ${(err as Error).message}`);
  }
}
