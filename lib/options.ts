/**
 * One option spec per component is the single source of its flags, env vars, defaults, validation and
 * docs (the pattern of kubernetes/git-sync's env.go). Precedence: flag > PODKIT_* env > default.
 *
 *   const spec = {
 *     listen: opt.hostPort({ default: '0.0.0.0:8443', description: 'TLS listener address.' }),
 *     upstreamTimeout: opt.duration({ default: '30s', description: '...' }),
 *   };
 *   // flags --listen, --upstream-timeout; env PODKIT_LISTEN, PODKIT_UPSTREAM_TIMEOUT
 *
 * Defaults are written as a user would type them and go through the same parser as user input, so a
 * bad default fails the first test that starts the component.
 */

import { parseArgs } from 'node:util';
import { closest, distance } from 'fastest-levenshtein';
import { ConfigError } from './errors.js';
import {
  Expected,
  type HostPort,
  type Parser,
  parseBool,
  parseDuration,
  parseEnum,
  parseFilePath,
  parseHostPort,
  parseInteger,
  parseList,
  parseNumber,
  parseUrl,
} from './option-types.js';
import { Secret } from './secret.js';

export type Kind =
  | 'string'
  | 'int'
  | 'number'
  | 'duration'
  | 'bool'
  | 'enum'
  | 'list'
  | 'host:port'
  | 'url'
  | 'file'
  | 'secret';

export interface Option<T> {
  readonly kind: Kind;
  readonly description: string;
  /** Raw text, as a user would type it. */
  readonly default?: string;
  readonly required: boolean;
  /** What `--help` shows after the flag, e.g. `<host:port>`; empty for booleans. */
  readonly placeholder: string;
  readonly deprecated?: string;
  readonly parse: Parser<T>;
  /** Phantom field carrying the value type; never set. */
  readonly valueType?: T;
}

// biome-ignore lint/suspicious/noExplicitAny: a spec holds options of every value type.
export type Spec = Record<string, Option<any>>;
export type Values<S extends Spec> = { -readonly [K in keyof S]: S[K] extends Option<infer T> ? T : never };

interface Common {
  description: string;
  required?: boolean;
  /** Set when the option is going away: using it logs this text as a warning. */
  deprecated?: string;
}
interface WithDefault<D> extends Common {
  default?: D;
}
/** An option with a default or marked required always has a value; otherwise it may be undefined. */
type Out<T, O> = O extends { default: unknown } ? T : O extends { required: true } ? T : T | undefined;

function make<T>(
  kind: Kind,
  o: Common & { default?: unknown },
  placeholder: string,
  parse: Parser<T>,
): Option<T> {
  const raw = o.default;
  return {
    kind,
    description: o.description,
    required: o.required ?? false,
    placeholder,
    parse,
    ...(raw === undefined ? {} : { default: Array.isArray(raw) ? raw.join(',') : String(raw) }),
    ...(o.deprecated === undefined ? {} : { deprecated: o.deprecated }),
  };
}

export const opt = {
  string<O extends WithDefault<string> & { pattern?: RegExp; expect?: string }>(
    o: O,
  ): Option<Out<string, O>> {
    return make('string', o, '<string>', (raw) => {
      if (o.pattern && !o.pattern.test(raw)) throw new Expected(o.expect ?? `text matching ${o.pattern}`);
      return raw;
    }) as Option<Out<string, O>>;
  },
  int<O extends WithDefault<number> & { min?: number; max?: number }>(o: O): Option<Out<number, O>> {
    return make('int', o, '<int>', (raw) => parseInteger(raw, o.min, o.max)) as Option<Out<number, O>>;
  },
  number<O extends WithDefault<number> & { min?: number; max?: number }>(o: O): Option<Out<number, O>> {
    return make('number', o, '<number>', (raw) => parseNumber(raw, o.min, o.max)) as Option<Out<number, O>>;
  },
  /** A Go-style duration (`10s`, `1m30s`); the value is in milliseconds. */
  duration<O extends WithDefault<string> & { min?: string; max?: string }>(o: O): Option<Out<number, O>> {
    const min = o.min === undefined ? 0 : parseDuration(o.min);
    const max = o.max === undefined ? Infinity : parseDuration(o.max);
    return make('duration', o, '<duration>', (raw) => parseDuration(raw, min, max)) as Option<Out<number, O>>;
  },
  /** `--x`, `--x=false`, `--no-x`; env values true/false/1/0/yes/no/on/off. Unset means false. */
  bool(o: Common & { default?: boolean }): Option<boolean> {
    return make('bool', { ...o, default: o.default ?? false }, '', parseBool);
  },
  enum<const C extends string, O extends WithDefault<C>>(choices: readonly C[], o: O): Option<Out<C, O>> {
    return make('enum', o, `<${choices.join('|')}>`, parseEnum(choices)) as Option<Out<C, O>>;
  },
  /** Comma-separated in env and flags; a repeated flag adds to the list. Unset means empty. */
  list<T = string>(o: WithDefault<string | string[]> & { item?: Parser<T>; itemName?: string }): Option<T[]> {
    const item = o.item ?? ((raw: string) => raw as T);
    return make(
      'list',
      { ...o, default: o.default ?? '' },
      `<${o.itemName ?? 'value'},...>`,
      parseList(item),
    );
  },
  hostPort<O extends WithDefault<string>>(o: O): Option<Out<HostPort, O>> {
    return make('host:port', o, '<host:port>', parseHostPort) as Option<Out<HostPort, O>>;
  },
  url<O extends WithDefault<string> & { protocols?: string[] }>(o: O): Option<Out<URL, O>> {
    return make('url', o, '<url>', parseUrl(o.protocols)) as Option<Out<URL, O>>;
  },
  /** A path; with `mustExist` it must name a readable file when the component starts. */
  file<O extends WithDefault<string> & { mustExist?: boolean }>(o: O): Option<Out<string, O>> {
    return make('file', o, '<path>', parseFilePath(o.mustExist ?? false)) as Option<Out<string, O>>;
  },
  /**
   * A secret: from env PODKIT_<NAME>, or from a file named by --<name>-file / PODKIT_<NAME>_FILE, which
   * is re-read on every use. There is deliberately no flag carrying the value itself.
   */
  secret(o: Common): Option<Secret> {
    return make('secret', o, '<path>', () => {
      throw new Error('secret options are resolved by parseOptions, never parsed from text');
    });
  },
};

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(key: string): string {
  return `PODKIT_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}

/** The flag a user types: secrets take a file path, so their flag ends in -file. */
export function userFlag(key: string, option: Option<unknown>): string {
  return option.kind === 'secret' ? `--${flagName(key)}-file` : `--${flagName(key)}`;
}

/** Env variables a component reads for an option (a secret reads its value or a file path). */
export function userEnv(key: string, option: Option<unknown>): string[] {
  return option.kind === 'secret' ? [envName(key), `${envName(key)}_FILE`] : [envName(key)];
}

/** Env prefixes that are never warned about: test settings read by the test support, not by components. */
const ignoredEnvPrefixes = ['PODKIT_TEST_'];

export interface Parsed<S extends Spec> {
  values: Values<S>;
  /** Human-readable warnings (unknown env vars, deprecated options) to log once a logger exists. */
  warnings: string[];
}

export function parseOptions<S extends Spec>(
  spec: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Parsed<S> {
  const warnings: string[] = [];
  const fromFlags = readFlags(spec, argv);
  const values: Record<string, unknown> = {};

  for (const [key, option] of Object.entries(spec)) {
    const flag = userFlag(key, option);
    if (option.kind === 'secret') {
      values[key] = readSecret(key, option, fromFlags.get(key)?.at(-1), env);
      continue;
    }
    const flagged = fromFlags.get(key);
    const envValue = env[envName(key)];
    let raw: string | undefined;
    let source: string;
    if (flagged !== undefined) {
      // A repeated list flag accumulates; any other repeated flag keeps its last value, like most CLIs.
      raw = option.kind === 'list' ? flagged.join(',') : flagged.at(-1);
      source = '';
    } else if (envValue !== undefined) {
      raw = envValue;
      source = ` (from env ${envName(key)})`;
    } else {
      raw = option.default;
      source = ' (the default)';
    }
    if ((flagged !== undefined || envValue !== undefined) && option.deprecated) {
      warnings.push(`${flag} is deprecated: ${option.deprecated}`);
    }
    if (raw === undefined || (raw.trim() === '' && option.kind !== 'string' && option.kind !== 'list')) {
      if (option.required) {
        throw new ConfigError(key, `missing ${flag}: set ${flag} or ${envName(key)} (${option.description})`);
      }
      values[key] = undefined;
      continue;
    }
    try {
      values[key] = option.parse(raw);
    } catch (err) {
      if (!(err instanceof Expected)) throw err;
      throw new ConfigError(key, `invalid ${flag} ${quote(raw)}${source}: expected ${err.message}`);
    }
  }

  warnings.push(...unknownEnvWarnings(spec, env));
  return { values: values as Values<S>, warnings };
}

function readSecret(
  key: string,
  option: Option<unknown>,
  flagPath: string | undefined,
  env: NodeJS.ProcessEnv,
): Secret {
  const flag = userFlag(key, option);
  const fileEnv = `${envName(key)}_FILE`;
  const path = flagPath ?? (env[envName(key)] === undefined ? env[fileEnv] : undefined);
  if (path !== undefined) {
    try {
      parseFilePath(true)(path);
    } catch (err) {
      if (!(err instanceof Expected)) throw err;
      const source = flagPath === undefined ? ` (from env ${fileEnv})` : '';
      throw new ConfigError(key, `invalid ${flag} ${quote(path)}${source}: expected ${err.message}`);
    }
    return new Secret({ kind: 'file', path });
  }
  const value = env[envName(key)];
  if (value !== undefined) return new Secret({ kind: 'env', variable: envName(key), value });
  if (option.required)
    throw new ConfigError(key, `missing ${flag}: set ${flag}, ${envName(key)} or ${fileEnv}`);
  return Secret.unset();
}

/** Flags by spec key; values are raw strings, booleans become "true"/"false". */
function readFlags(spec: Spec, argv: readonly string[]): Map<string, string[]> {
  const byFlag = new Map<string, { key: string; option: Option<unknown>; negated: boolean }>();
  for (const [key, option] of Object.entries(spec)) {
    byFlag.set(userFlag(key, option).slice(2), { key, option, negated: false });
    if (option.kind === 'bool') byFlag.set(`no-${flagName(key)}`, { key, option, negated: true });
  }
  // Declaring value-taking flags as strings lets parseArgs pair `--name value`; unknown flags still
  // come through as tokens (strict: false) so they get our message with a suggestion.
  const declared = Object.fromEntries(
    [...byFlag].map(
      ([flag, { option }]) => [flag, { type: option.kind === 'bool' ? 'boolean' : 'string' }] as const,
    ),
  );
  const { tokens } = parseArgs({
    args: [...argv],
    options: declared,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const found = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind === 'positional') {
      throw new ConfigError(
        '',
        `unexpected argument ${quote(token.value)}: options are written --name value`,
      );
    }
    if (token.kind !== 'option') continue;
    const entry = byFlag.get(token.name);
    if (!entry) {
      const suggestion = nearest(token.name, [...byFlag.keys()]);
      throw new ConfigError(
        token.name,
        `unknown option ${token.rawName}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`,
      );
    }
    const { key, option, negated } = entry;
    let value: string;
    if (option.kind === 'bool') {
      if (negated && token.value !== undefined) {
        throw new ConfigError(key, `${token.rawName} takes no value`);
      }
      value = negated ? 'false' : (token.value ?? 'true');
    } else {
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
        throw new ConfigError(key, `${token.rawName} needs a value: ${option.placeholder}`);
      }
      value = token.value;
    }
    found.set(key, [...(found.get(key) ?? []), value]);
  }
  return found;
}

function unknownEnvWarnings(spec: Spec, env: NodeJS.ProcessEnv): string[] {
  const known = Object.entries(spec).flatMap(([key, option]) => userEnv(key, option));
  const knownSet = new Set(known);
  return Object.keys(env)
    .filter((name) => name.startsWith('PODKIT_') && !knownSet.has(name))
    .filter((name) => !ignoredEnvPrefixes.some((prefix) => name.startsWith(prefix)))
    .sort()
    .map((name) => {
      const suggestion = nearest(name, known);
      return `unknown environment variable ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ''}: ignored`;
    });
}

/** The closest known name when it is plausibly a typo (edit distance within a third of the length). */
function nearest(name: string, known: string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(name, known);
  return distance(name, best) <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function quote(raw: string): string {
  // A URL with a password is quoted without it: config errors reach stderr and the termination log.
  const safe = raw.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):[^\s/@]*@/gi, '$1:redacted@');
  const text = safe.length > 80 ? `${safe.slice(0, 77)}...` : safe;
  return JSON.stringify(text);
}

/** A throwable for cross-option checks: `throw invalid('certFile', 'is required with --mode l7')`. */
export function invalid(key: string, message: string): ConfigError {
  return new ConfigError(key, `--${flagName(key)} ${message}`);
}
