/**
 * A secret option's value. It comes only from the environment or from a file (never from a flag, so it
 * never shows in `ps`), is re-read from its file every time it is used (so a rotated Kubernetes Secret
 * takes effect without a restart), and prints as `[redacted]` wherever it ends up: logs, JSON, inspect.
 */

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';

export type SecretSource =
  | { kind: 'unset' }
  | { kind: 'env'; variable: string; value: string }
  | { kind: 'file'; path: string };

export class Secret {
  readonly #source: SecretSource;

  constructor(source: SecretSource) {
    this.#source = source;
  }

  static unset(): Secret {
    return new Secret({ kind: 'unset' });
  }

  static fromValue(value: string): Secret {
    return new Secret({ kind: 'env', variable: '(value)', value });
  }

  get isSet(): boolean {
    return this.#source.kind !== 'unset';
  }

  /** Where the secret comes from, safe to log: an env var name or a file path, never the value. */
  get origin(): string {
    const source = this.#source;
    if (source.kind === 'env') return `env ${source.variable}`;
    if (source.kind === 'file') return `file ${source.path}`;
    return 'unset';
  }

  /** The current value; files are read afresh each time. A single trailing newline is dropped. */
  async read(): Promise<string | undefined> {
    const source = this.#source;
    if (source.kind === 'env') return source.value;
    if (source.kind === 'file') return stripNewline(await readFile(source.path, 'utf8'));
    return undefined;
  }

  readSync(): string | undefined {
    const source = this.#source;
    if (source.kind === 'env') return source.value;
    if (source.kind === 'file') return stripNewline(readFileSync(source.path, 'utf8'));
    return undefined;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return this.isSet ? '[redacted]' : '[unset]';
  }

  [inspect.custom](): string {
    return `Secret(${this.origin})`;
  }
}

function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}
